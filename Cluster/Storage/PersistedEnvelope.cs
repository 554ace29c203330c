namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>A saved control message for a persisted request (Effect's <c>Envelope.AckChunk</c> / <c>Envelope.Interrupt</c>).</summary>
public abstract record PersistedEnvelope(long RequestId)
{
    /// <summary>The caller received chunk <paramref name="Sequence"/> of a stream; the owner may send the next one.</summary>
    public sealed record AckChunk(long RequestId, int Sequence) : PersistedEnvelope(RequestId);

    /// <summary>The caller gave up on the request; the owner stops it and saves an interrupted reply.</summary>
    public sealed record Interrupt(long RequestId) : PersistedEnvelope(RequestId);
}
