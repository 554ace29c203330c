using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>The entity's shard is not (or no longer) held by the runner that received the message; senders retry.</summary>
public sealed class EntityNotAssignedToRunnerException(EntityAddress address) : ClusterException($"Entity {address} is not assigned to this runner.")
{
    /// <summary>What the error is about.</summary>
    public EntityAddress Address { get; } = address;
}
