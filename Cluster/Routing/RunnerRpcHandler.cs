using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Routing;

/// <summary>
/// What a runner does with the RPCs it receives (Effect's <c>Runners.Rpcs</c> server side): decodes and validates the
/// envelope, then delivers a volatile message to its entity and a persisted one to <see cref="PersistedDelivery"/>.
/// Malformed input fails with a typed error and reaches no entity.
/// </summary>
/// <remarks>
/// <c>delivery</c>: Null on a runner without MessageStorage: persisted RPCs then fail with <see cref="PersistenceException"/>.
/// <c>newId</c>: Snowflake ids for the replies of Effect-protocol requests (<c>RunnerRpcHandler.Effect.cs</c>).
/// </remarks>
internal sealed partial class RunnerRpcHandler(
    EntityHost entities, PersistedDelivery? delivery, StorageReadSchedule? schedule, ClusterSerializer serializer, RunnerAddress self, Func<long> newId)
    : IRunnerRpcHandler
{
    public ValueTask<PooledBytes> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
    {
        if (persisted)
        {
            return HandlePersistedRequestAsync(envelope, cancellationToken);
        }

        var (address, manager, rpc, message, parent) = Receive(envelope, expectStream: false);
        if (rpc.Kind == RpcKind.Tell)
        {
            // A tell is done for its sender once queued: nothing cancels it after that (and the request's token may
            // be reused once the request is answered).
            entities.Deliver(manager, address, new TaskEntityWork(rpc, message, parent, CancellationToken.None));
            return default;
        }

        // The caller's cancellation interrupts the handler (or skips the queued message), which completes the reply.
        var work = RemoteRequestWork.Rent(rpc, message, parent, cancellationToken, serializer);
        var reply = work.Reply;
        entities.Deliver(manager, address, work);   // throws (and drops the work) when the entity cannot take it
        return reply;
    }

    private async ValueTask<PooledBytes> HandlePersistedRequestAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        var owner = RequirePersistence();
        var request = ToPersistedRequest(RequireRightShard(Decode(envelope, expectStream: false)));
        var reply = await owner.RunAsync(request, cancellationToken).ConfigureAwait(false);
        return reply.IsFailure ? throw ReplyFailure.Decode(reply.Payload) : PooledBytes.CopyOf(reply.Payload.Span);
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (persisted)
        {
            var owner = RequirePersistence();
            var request = ToPersistedRequest(RequireRightShard(Decode(envelope, expectStream: true)));
            await foreach (var chunk in owner.FollowAsync(request, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }

            yield break;
        }

        var (address, manager, rpc, message, parent) = Receive(envelope, expectStream: true);
        var work = new TaskEntityWork(rpc, message, parent, cancellationToken);
        entities.Deliver(manager, address, work);
        await foreach (var item in work.Stream!.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return rpc.SerializeReply(serializer, item);
        }
    }

    public Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        RequirePersistence();
        schedule!.WakeAt(DecodeNotify(envelope));
        return Task.CompletedTask;
    }

    public Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        var owner = RequirePersistence();
        owner.Apply(PersistedEnvelopeCodec.Decode(envelope));
        return Task.CompletedTask;
    }

    /// <summary>A Notify payload: empty (read storage now) or the due time as 8-byte big-endian Unix milliseconds.</summary>
    internal static DateTimeOffset? DecodeNotify(ReadOnlyMemory<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return null;
        }

        if (payload.Length == sizeof(long))
        {
            var ms = BinaryPrimitives.ReadInt64BigEndian(payload.Span);
            if (ms >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }

            throw new MalformedMessageException($"Notify names time {ms} ms, outside the range of dates.");
        }

        throw new MalformedMessageException($"A notify payload is empty or an 8-byte time, not {payload.Length} bytes.");
    }

    /// <summary>Decodes a received envelope; a stream request must carry a Stream RPC and a request any other (a Stream RPC has no single reply).</summary>
    private static Envelope Decode(ReadOnlyMemory<byte> bytes, bool expectStream)
    {
        var envelope = EnvelopeCodec.Decode(bytes);
        if ((envelope.Kind == RpcKind.Stream) != expectStream)
        {
            throw new MalformedMessageException(expectStream
                ? $"A stream request carries a {envelope.Kind} envelope ({envelope.Address.EntityType}.{envelope.Tag})."
                : $"A request carries a Stream envelope ({envelope.Address.EntityType}.{envelope.Tag}); streams are sent as stream requests.");
        }

        return envelope;
    }

    /// <summary>
    /// A persisted envelope of a known entity type must name the entity's own shard, as a volatile one must. (An
    /// unknown type is left to the persisted path, which answers it with a typed failure.)
    /// </summary>
    private Envelope RequireRightShard(Envelope envelope)
    {
        if (entities.TryGetManager(envelope.Address.EntityType, out var manager))
        {
            entities.RequireRightShard(envelope.Address, manager);
        }

        return envelope;
    }

    /// <summary>Decodes and checks a volatile envelope, down to its deserialized message; nothing is delivered yet.</summary>
    private (EntityAddress Address, EntityManager Manager, RpcBinding Rpc, object Message, ActivityContext Parent) Receive(ReadOnlyMemory<byte> bytes, bool expectStream)
    {
        var envelope = Decode(bytes, expectStream);
        var address = envelope.Address;
        var manager = entities.RequireManager(address.EntityType, self);
        entities.RequireRightShard(address, manager);

        var rpc = EntityHost.ResolveRpc(manager, envelope.Tag, expectStream ? RpcKind.Stream : envelope.Kind);
        var message = rpc.DeserializeRequest(serializer, envelope.Payload);
        var parent = ActivityContext.TryParse(envelope.TraceParent, envelope.TraceState, isRemote: true, out var context) ? context : default;
        return (address, manager, rpc, message, parent);
    }

    /// <summary>A persisted request outlives the frame it came in (storage keeps it): its payload is copied out.</summary>
    private static PersistedRequest ToPersistedRequest(Envelope envelope) =>
        new(envelope.RequestId, envelope.Address, envelope.Tag, envelope.Kind, envelope.Payload.ToArray(), TraceParent: envelope.TraceParent, TraceState: envelope.TraceState);

    private PersistedDelivery RequirePersistence() => delivery
        ?? throw new PersistenceException("Persisted messages require a MessageStorage; none is configured on this runner.");
}
