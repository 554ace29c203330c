using System.Buffers;
using MessagePack;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>
/// Binary form of an <see cref="Envelope"/>: a MessagePack array
/// <c>[requestId, entityType, entityId, group, shard, tag, kind, payload, traceparent, tracestate]</c>,
/// written and read field by field (no reflection).
/// </summary>
internal static class EnvelopeCodec
{
    private const int FieldCount = 10;

    public static byte[] Encode(Envelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + envelope.Payload.Length);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(FieldCount);
        writer.Write(envelope.RequestId);
        writer.Write(envelope.Address.EntityType);
        writer.Write(envelope.Address.EntityId);
        writer.Write(envelope.Address.ShardId.Group);
        writer.Write(envelope.Address.ShardId.Id);
        writer.Write(envelope.Tag);
        writer.Write((byte)envelope.Kind);
        writer.Write(envelope.Payload.Span);
        writer.Write(envelope.TraceParent);
        writer.Write(envelope.TraceState);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static Envelope Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != FieldCount)
            {
                throw new MalformedMessageException("Envelope is not a 10-element array.");
            }

            var requestId = reader.ReadInt64();
            var entityType = reader.ReadString() ?? throw new MalformedMessageException("Envelope has no entity type.");
            var entityId = reader.ReadString() ?? throw new MalformedMessageException("Envelope has no entity id.");
            var group = reader.ReadString() ?? throw new MalformedMessageException("Envelope has no shard group.");
            var shard = reader.ReadInt32();
            var tag = reader.ReadString() ?? throw new MalformedMessageException("Envelope has no RPC tag.");
            var kind = (RpcKind)reader.ReadByte();
            if (!Enum.IsDefined(kind))
            {
                throw new MalformedMessageException($"Unknown RPC kind {(byte)kind}.");
            }

            var payloadSequence = reader.ReadBytes();
            var payload = payloadSequence is { } p ? p.ToArray() : [];
            var traceParent = reader.ReadString();
            var traceState = reader.ReadString();
            if (!reader.End)
            {
                throw new MalformedMessageException("Trailing bytes after the envelope.");
            }

            return new Envelope(requestId, new EntityAddress(entityType, entityId, new ShardId(group, shard)), tag, kind, payload, traceParent, traceState);
        }
        catch (Exception ex) when (MessagePackDecodeErrors.Is(ex))
        {
            throw new MalformedMessageException($"Undecodable envelope: {ex.Message}", ex);
        }
    }
}
