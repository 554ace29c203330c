using System.Buffers;
using System.Runtime.InteropServices;
using MessagePack;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Buffers;

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
        using var buffer = PooledBufferWriter.Rent(64 + envelope.Payload.Length);
        Write(buffer, envelope.RequestId, envelope.Address, envelope.Tag, envelope.Kind, envelope.Payload.Span, envelope.TraceParent, envelope.TraceState);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Encodes an envelope whose payload is <paramref name="message"/> serialized by its runtime type, into pooled
    /// bytes: nothing is allocated but the rented buffers.
    /// </summary>
    /// <remarks><paramref name="json"/>: The payload is the message's JSON (a transport speaking Effect's protocol), not MessagePack.</remarks>
    public static PooledBytes EncodePooled(ClusterSerializer serializer, long requestId, EntityAddress address, string tag, RpcKind kind, object message, string? traceParent, string? traceState, bool json = false)
    {
        using var payload = PooledBufferWriter.Rent();
        if (json)
        {
            serializer.SerializeJsonObject(payload, message);
        }
        else
        {
            serializer.SerializeObject(payload, message);
        }

        var envelope = PooledBufferWriter.Rent(64 + payload.WrittenSpan.Length);
        try
        {
            Write(envelope, requestId, address, tag, kind, payload.WrittenSpan, traceParent, traceState);
        }
        catch
        {
            envelope.Dispose();
            throw;
        }

        return envelope.Detach();
    }

    private static void Write(IBufferWriter<byte> output, long requestId, EntityAddress address, string tag, RpcKind kind, ReadOnlySpan<byte> payload, string? traceParent, string? traceState)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(FieldCount);
        writer.Write(requestId);
        writer.Write(address.EntityType);
        writer.Write(address.EntityId);
        writer.Write(address.ShardId.Group);
        writer.Write(address.ShardId.Id);
        writer.Write(tag);
        writer.Write((byte)kind);
        writer.Write(payload);
        writer.Write(traceParent);
        writer.Write(traceState);
        writer.Flush();
    }

    /// <summary>Decodes an envelope; its payload is a slice of <paramref name="bytes"/>, valid as long as they are.</summary>
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
            var entityType = NameCache.ReadName(ref reader) ?? throw new MalformedMessageException("Envelope has no entity type.");
            var entityId = reader.ReadString() ?? throw new MalformedMessageException("Envelope has no entity id.");
            var group = NameCache.ReadName(ref reader) ?? throw new MalformedMessageException("Envelope has no shard group.");
            var shard = reader.ReadInt32();
            var tag = NameCache.ReadName(ref reader) ?? throw new MalformedMessageException("Envelope has no RPC tag.");
            var kind = (RpcKind)reader.ReadByte();
            if (!Enum.IsDefined(kind))
            {
                throw new MalformedMessageException($"Unknown RPC kind {(byte)kind}.");
            }

            var payload = reader.ReadBytes() switch
            {
                null => ReadOnlyMemory<byte>.Empty,
                { } p when SequenceMarshal.TryGetReadOnlyMemory(p, out var slice) => slice,
                { } p => p.ToArray(),
            };
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
