using System.Buffers;
using MessagePack;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>Binary form of a <see cref="PersistedEnvelope"/> for the Envelope RPC: MessagePack <c>[kind (1 ack, 2 interrupt), requestId, sequence]</c>.</summary>
internal static class PersistedEnvelopeCodec
{
    public static byte[] Encode(PersistedEnvelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(24);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(envelope is PersistedEnvelope.AckChunk ? 1 : 2);
        writer.Write(envelope.RequestId);
        writer.Write(envelope is PersistedEnvelope.AckChunk ack ? ack.Sequence : 0);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static PersistedEnvelope Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != 3)
            {
                throw new MalformedMessageException("Envelope is not a 3-element array.");
            }

            var kind = reader.ReadInt32();
            var requestId = reader.ReadInt64();
            var sequence = reader.ReadInt32();
            if (!reader.End)
            {
                throw new MalformedMessageException("Trailing bytes after the envelope.");
            }

            return kind switch
            {
                1 => new PersistedEnvelope.AckChunk(requestId, sequence),
                2 => new PersistedEnvelope.Interrupt(requestId),
                _ => throw new MalformedMessageException($"Unknown envelope kind {kind}."),
            };
        }
        catch (Exception ex) when (MessagePackDecodeErrors.Is(ex))
        {
            throw new MalformedMessageException($"Undecodable envelope: {ex.Message}", ex);
        }
    }
}
