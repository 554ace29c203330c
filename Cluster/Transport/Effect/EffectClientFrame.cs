namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// One decoded client frame. For a request, <see cref="Payload"/> is the raw JSON of its payload, a slice of the line
/// it was read from (valid as long as that line's buffer is). The RPC frame's headers are not kept: the runner RPCs
/// carry what they need in their payloads.
/// </summary>
internal readonly record struct EffectClientFrame(
    EffectClientFrameKind Kind,
    EffectRequestId Id,
    string? Tag,
    ReadOnlyMemory<byte> Payload);
