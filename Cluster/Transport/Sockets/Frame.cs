using System.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// One decoded frame. <see cref="Payload"/> lives in a buffer rented from <see cref="ArrayPool{T}.Shared"/>:
/// whoever consumes the frame calls <see cref="Dispose"/> once done with the payload.
/// </summary>
internal readonly struct Frame : IDisposable
{
    private readonly byte[]? _rented;
    private readonly int _length;

    public Frame(FrameKind kind, long requestId, byte flags, string? meta, byte[]? rented, int length)
    {
        Kind = kind;
        RequestId = requestId;
        Flags = flags;
        Meta = meta;
        _rented = rented;
        _length = length;
    }

    public FrameKind Kind { get; }

    /// <summary>Correlates requests and replies on one connection.</summary>
    public long RequestId { get; }

    /// <summary>Request frames: <see cref="FrameFlags"/>; failure frames: the error code.</summary>
    public byte Flags { get; }

    /// <summary>Request frames: the W3C traceparent; failure frames: the error message.</summary>
    public string? Meta { get; }

    public ReadOnlyMemory<byte> Payload => _rented is null ? ReadOnlyMemory<byte>.Empty : _rented.AsMemory(0, _length);

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }
    }
}

/// <summary>Flags of request frames.</summary>
[Flags]
internal enum FrameFlags : byte
{
    None = 0,
    Persisted = 1,
}
