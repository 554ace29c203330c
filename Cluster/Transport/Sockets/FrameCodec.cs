using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using SocketRunnerAspire.Cluster.Serialization;

using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// The runner protocol's framing: a 4-byte big-endian body length, then a MessagePack array
/// <c>[kind, requestId, flags, meta (nil | str), payload (nil | bin)]</c>.
/// </summary>
internal static class FrameCodec
{
    public const int LengthPrefixSize = 4;
    private const int FieldCount = 5;

    /// <summary>Encodes one frame into <paramref name="scratch"/> (cleared first) and then <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ArrayBufferWriter<byte> scratch, FrameKind kind, long requestId, byte flags, string? meta, ReadOnlySpan<byte> payload, bool hasPayload)
    {
        scratch.ResetWrittenCount();
        var writer = new MessagePackWriter(scratch);
        writer.WriteArrayHeader(FieldCount);
        writer.Write((byte)kind);
        writer.Write(requestId);
        writer.Write(flags);
        if (meta is null)
        {
            writer.WriteNil();
        }
        else
        {
            writer.Write(meta);
        }

        if (hasPayload)
        {
            writer.Write(payload);
        }
        else
        {
            writer.WriteNil();
        }

        writer.Flush();

        var body = scratch.WrittenSpan;
        var span = output.GetSpan(LengthPrefixSize + body.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, body.Length);
        body.CopyTo(span[LengthPrefixSize..]);
        output.Advance(LengthPrefixSize + body.Length);
    }

    /// <summary>
    /// Takes one frame off the front of <paramref name="buffer"/> when it is complete.
    /// Throws <see cref="MalformedFrameException"/> for an oversized or undecodable frame.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out Frame frame)
    {
        frame = default;
        if (buffer.Length < LengthPrefixSize)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[LengthPrefixSize];
        buffer.Slice(0, LengthPrefixSize).CopyTo(prefix);
        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (length <= 0 || length > maxFrameSize)
        {
            throw new MalformedFrameException(
                length <= 0 ? $"Invalid frame length {length}." : $"Frame of {length} bytes exceeds the maximum of {maxFrameSize} bytes.");
        }

        if (buffer.Length < LengthPrefixSize + (long)length)
        {
            return false;
        }

        var body = buffer.Slice(LengthPrefixSize, length);
        frame = Decode(body);
        buffer = buffer.Slice(body.End);
        return true;
    }

    private static Frame Decode(ReadOnlySequence<byte> body)
    {
        PooledBytes payload = default;
        try
        {
            var reader = new MessagePackReader(body);
            if (reader.ReadArrayHeader() != FieldCount)
            {
                throw new MalformedFrameException("Frame is not a 5-element array.");
            }

            var kind = (FrameKind)reader.ReadByte();
            if (!Enum.IsDefined(kind))
            {
                throw new MalformedFrameException($"Unknown frame kind {(byte)kind}.");
            }

            var requestId = reader.ReadInt64();
            var flags = reader.ReadByte();
            var meta = reader.TryReadNil() ? null : reader.ReadString();
            if (!reader.TryReadNil())
            {
                var bytes = reader.ReadBytes() ?? throw new MalformedFrameException("Payload is not binary.");
                var rented = MessageBufferPool.Rent(Math.Max(checked((int)bytes.Length), 1));
                bytes.CopyTo(rented);
                payload = new PooledBytes(rented, (int)bytes.Length);
            }

            if (!reader.End)
            {
                throw new MalformedFrameException("Trailing bytes after the frame body.");
            }

            return new Frame(kind, requestId, flags, meta, payload);
        }
        catch (Exception ex) when (ex is MalformedFrameException || MessagePackDecodeErrors.Is(ex))
        {
            payload.Dispose();

            if (ex is MalformedFrameException)
            {
                throw;
            }

            throw new MalformedFrameException($"Undecodable frame: {ex.Message}", ex);
        }
    }
}
