using System.Buffers.Binary;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// Binary form of a <see cref="PersistedReply"/> without its request id: <c>[flags:1][sequence:4 BE][payload]</c>,
/// flags bit 0 = final, bit 1 = failure. Used in Redis and for chunks of persisted streams on the wire.
/// </summary>
internal static class PersistedReplyCodec
{
    private const int HeaderLength = 5;
    private const byte Final = 1;
    private const byte Failure = 2;

    public static byte[] Encode(PersistedReply reply)
    {
        var bytes = new byte[HeaderLength + reply.Payload.Length];
        bytes[0] = (byte)((reply.IsFinal ? Final : 0) | (reply.IsFailure ? Failure : 0));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), reply.Sequence);
        reply.Payload.Span.CopyTo(bytes.AsSpan(HeaderLength));
        return bytes;
    }

    public static PersistedReply Decode(long requestId, ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length < HeaderLength || (bytes.Span[0] & ~(Final | Failure)) != 0)
        {
            throw new MalformedMessageException($"Stored reply of request {requestId} is malformed.");
        }

        var flags = bytes.Span[0];
        return new PersistedReply(requestId, BinaryPrimitives.ReadInt32BigEndian(bytes.Span[1..]),
            (flags & Final) != 0, (flags & Failure) != 0, bytes[HeaderLength..]);
    }
}
