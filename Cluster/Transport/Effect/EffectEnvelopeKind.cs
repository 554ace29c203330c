namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>The kinds of Effect's <c>Envelope.Partial</c>, by <c>_tag</c>.</summary>
internal enum EffectEnvelopeKind
{
    /// <summary><c>Request</c>: a whole request (in a <c>Notify</c>).</summary>
    Request,

    /// <summary><c>AckChunk</c>: the sender took a persisted stream's chunk.</summary>
    AckChunk,

    /// <summary><c>Interrupt</c>: stop the request <c>requestId</c>.</summary>
    Interrupt,
}
