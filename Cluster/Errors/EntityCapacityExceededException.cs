using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>
/// The runner already hosts <c>Cluster:MaxResidentEntities</c> entity instances and none of them is idle, so the
/// entity could not be activated; nothing was enqueued. Persisted messages wait for room instead (like
/// <see cref="MailboxFullException"/>).
/// </summary>
public sealed class EntityCapacityExceededException(EntityAddress address)
    : ClusterException($"Entity {address} cannot be activated: the runner hosts as many entities as it may and none is idle.")
{
    /// <summary>The entity that was not activated.</summary>
    public EntityAddress Address { get; } = address;
}
