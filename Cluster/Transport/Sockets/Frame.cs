using System.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// One decoded frame. <see cref="Payload"/> lives in a buffer rented from <see cref="Buffers.MessageBufferPool"/>:
/// whoever consumes the frame calls <see cref="Dispose"/> once done with the payload.
/// </summary>
internal readonly struct Frame : IDisposable
{
    private readonly PooledBytes _payload;

    public Frame(FrameKind kind, long requestId, byte flags, string? meta, PooledBytes payload)
    {
        Kind = kind;
        RequestId = requestId;
        Flags = flags;
        Meta = meta;
        _payload = payload;
    }

    public FrameKind Kind { get; }

    /// <summary>Correlates requests and replies on one connection.</summary>
    public long RequestId { get; }

    /// <summary>Request frames: <see cref="FrameFlags"/>; failure frames: the error code.</summary>
    public byte Flags { get; }

    /// <summary>Request frames: the W3C traceparent; failure frames: the error message.</summary>
    public string? Meta { get; }

    public ReadOnlyMemory<byte> Payload => _payload.Memory;

    /// <summary>The payload with its rented array: whoever takes it disposes it instead of the frame.</summary>
    public PooledBytes PooledPayload => _payload;

    public void Dispose() => _payload.Dispose();
}

/// <summary>Flags of request frames.</summary>
[Flags]
internal enum FrameFlags : byte
{
    None = 0,
    Persisted = 1,
}
