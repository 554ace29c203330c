namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// A client frame this runner cannot take. With <see cref="RequestId"/> it fails that request (an <c>Exit</c> with a
/// <c>Die</c> cause, as Effect's server answers an unknown RPC tag); without, the connection is told with a <c>Defect</c>
/// frame (bad JSON, an unknown frame tag, a missing or invalid request id). Either way the connection goes on, as Effect's does.
/// </summary>
internal sealed class EffectProtocolException(string message, EffectRequestId? requestId = null) : Exception(message)
{
    /// <summary>The request the problem belongs to, when it could be read.</summary>
    public EffectRequestId? RequestId { get; } = requestId;
}
