using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>The entity already has as many unreplied requests as its mailbox capacity allows; nothing was enqueued.</summary>
public sealed class MailboxFullException(EntityAddress address) : ClusterException($"Mailbox of entity {address} is full.")
{
    /// <summary>What the error is about.</summary>
    public EntityAddress Address { get; } = address;
}
