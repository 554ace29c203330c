namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>What an Effect RPC server sends (<c>FromServerEncoded</c>, by its <c>_tag</c>).</summary>
internal enum EffectServerFrameKind
{
    /// <summary><c>{_tag:"Exit", requestId, exit}</c>.</summary>
    Exit,

    /// <summary><c>{_tag:"Chunk", requestId, values}</c>.</summary>
    Chunk,

    /// <summary><c>{_tag:"Defect", defect}</c>: the connection failed; every pending request fails.</summary>
    Defect,

    /// <summary><c>{_tag:"Pong"}</c>.</summary>
    Pong,
}

/// <summary>
/// One decoded server frame, as an Effect client reads it. <see cref="Body"/> is the raw JSON of the frame's value
/// (an Exit's <c>exit</c>, a Chunk's <c>values</c> array, a Defect's <c>defect</c>), a slice of the line.
/// </summary>
internal readonly record struct EffectServerFrame(EffectServerFrameKind Kind, EffectRequestId RequestId, ReadOnlyMemory<byte> Body);
