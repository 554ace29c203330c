using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// Durable keep-alive (Effect's <c>Entity.keepAlive</c>): turning keep-alive on stores the internal message
/// <see cref="Tag"/> for the entity's own address. <see cref="PersistedDelivery"/> parks it on the instance instead
/// of handing it to a handler, and the instance is not passivated while it is parked; turning keep-alive off releases
/// it and its final reply is saved. Because it is stored, a restart or shard move redelivers it, which re-creates
/// the entity on its new owner. Only on runners with a MessageStorage; elsewhere keep-alive is an in-memory flag.
/// </summary>
internal sealed class KeepAliveMessages(ShardingOptions options, IMessageStorage messages, SnowflakeGenerator ids, StorageReadSchedule schedule, TimeProvider time)
{
    /// <summary>The reserved RPC tag of the keep-alive message, handled by the runtime for every entity type.</summary>
    public const string Tag = "Cluster/Entity/keepAlive";

    /// <summary>One keep-alive message per entity: enabling again while one is stored does not store another.</summary>
    public const string PrimaryKey = "keepAlive";

    /// <summary>Stores the keep-alive message of <paramref name="address"/> (re-arming the entity's earlier, completed one) and wakes the storage read.</summary>
    public async Task EnableAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        var request = new PersistedRequest(ids.Next(), address, Tag, RpcKind.Tell, ReadOnlyMemory<byte>.Empty, PrimaryKey);
        using var timeout = TimeoutScope.Start(options.StorageTimeout, time, cancellationToken);
        var saved = await messages.SaveRequestAsync(request, timeout.Token).ConfigureAwait(false);
        if (saved is SaveRequestResult.Duplicate { LastReply.IsFinal: true } completed)
        {
            // The primary key belongs to a keep-alive that was turned off: run that stored message again.
            await messages.ClearRepliesAsync(completed.OriginalId, timeout.Token).ConfigureAwait(false);
        }

        schedule.WakeNow();
    }
}
