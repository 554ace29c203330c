using System.Text;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>A failed final reply as storage keeps it: <c>[error code:1][UTF-8 message]</c>, the same codes as the socket protocol.</summary>
internal static class ReplyFailure
{
    public static byte[] Encode(Exception exception)
    {
        var (code, message) = RemoteError.From(exception);
        var bytes = new byte[1 + Encoding.UTF8.GetByteCount(message)];
        bytes[0] = (byte)code;
        Encoding.UTF8.GetBytes(message, bytes.AsSpan(1));
        return bytes;
    }

    public static Exception Decode(ReadOnlyMemory<byte> payload) => payload.IsEmpty
        ? new MalformedMessageException("A stored failure reply is empty.")
        : RemoteError.ToException((RemoteErrorCode)payload.Span[0], Encoding.UTF8.GetString(payload.Span[1..]));
}
