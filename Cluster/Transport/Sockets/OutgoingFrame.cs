using System.Buffers;
using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// A frame queued for a connection's write loop. <c>Payload</c> is null for none; <c>Rented</c>, when set,
/// is the pooled array behind the payload, returned once the frame is written.
/// </summary>
internal readonly record struct OutgoingFrame(
    FrameKind Kind,
    long RequestId,
    byte Flags = 0,
    string? Meta = null,
    ReadOnlyMemory<byte>? Payload = null,
    byte[]? Rented = null)
{
    public void Release()
    {
        if (Rented is not null)
        {
            MessageBufferPool.Return(Rented);
        }
    }
}
