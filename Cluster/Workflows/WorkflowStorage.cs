using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>Reads what MessageStorage keeps of workflow messages: their addresses, and their saved final replies.</summary>
internal static class WorkflowStorage
{
    /// <summary>The entity of execution <paramref name="executionId"/> of <paramref name="workflowName"/>.</summary>
    /// <exception cref="InvalidOperationException">The node does not know the <c>workflow</c> shard group.</exception>
    public static EntityAddress AddressOf(Sharding sharding, string workflowName, string executionId) =>
        Address(sharding, WorkflowKeys.EntityType(workflowName), executionId);

    /// <summary>The durable clock entity of an execution (same shard as the execution).</summary>
    public static EntityAddress ClockOf(Sharding sharding, string executionId) => Address(sharding, WorkflowKeys.ClockEntityType, executionId);

    /// <summary>The final reply saved for <paramref name="requestId"/>, decoded; null while it has none.</summary>
    /// <exception cref="ClusterException">The saved reply is a failure the runtime saved (e.g. a handler defect).</exception>
    public static async Task<T?> FinalReplyAsync<T>(IMessageStorage storage, ClusterSerializer serializer, long requestId, CancellationToken cancellationToken)
        where T : class
    {
        var replies = await storage.RepliesForAsync([requestId], cancellationToken).ConfigureAwait(false);
        foreach (var reply in replies)
        {
            if (reply.IsFinal)
            {
                return reply.IsFailure ? throw ReplyFailure.Decode(reply.Payload) : serializer.Deserialize<T>(reply.Payload);
            }
        }

        return null;
    }

    /// <summary>The final reply of the request with primary key <paramref name="primaryKey"/>; null when there is no such request or it has no reply yet.</summary>
    public static async Task<(long? RequestId, T? Reply)> ReplyForKeyAsync<T>(
        IMessageStorage storage, ClusterSerializer serializer, EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken)
        where T : class
    {
        if (await storage.RequestIdForPrimaryKeyAsync(address, tag, primaryKey, cancellationToken).ConfigureAwait(false) is not { } requestId)
        {
            return (null, null);
        }

        return (requestId, await FinalReplyAsync<T>(storage, serializer, requestId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// <see cref="ReplyForKeyAsync{T}(IMessageStorage, ClusterSerializer, EntityAddress, string, string, CancellationToken)"/>
    /// through <paramref name="sharding"/>'s MessageStorage, within its storage timeout.
    /// </summary>
    /// <exception cref="PersistenceException">The node has no MessageStorage.</exception>
    public static async Task<(long? RequestId, T? Reply)> ReplyForKeyAsync<T>(Sharding sharding, EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken)
        where T : class
    {
        var storage = sharding.MessageStorage
            ?? throw new PersistenceException("Workflows need a MessageStorage: register one (Redis, or in memory for tests) on every node.");
        using var timeout = TimeoutScope.Start(sharding.Options.StorageTimeout, sharding.Time, cancellationToken);
        return await ReplyForKeyAsync<T>(storage, sharding.Serializer, address, tag, primaryKey, timeout.Token).ConfigureAwait(false);
    }

    private static EntityAddress Address(Sharding sharding, string entityType, string executionId)
    {
        if (!sharding.Options.AvailableShardGroups.Contains(WorkflowKeys.ShardGroup, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"Workflows live in the shard group '{WorkflowKeys.ShardGroup}': add it to Cluster:AvailableShardGroups on every node (runners and clients).");
        }

        return new EntityAddress(entityType, executionId, sharding.GetShardId(executionId, WorkflowKeys.ShardGroup));
    }
}
