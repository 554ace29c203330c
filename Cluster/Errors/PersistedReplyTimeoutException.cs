using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>
/// No reply to a persisted message arrived within <c>Cluster:PersistedReplyTimeout</c>. The message is stored
/// and will still be processed; sending it again with the same primary key returns its reply once there is one.
/// </summary>
public sealed class PersistedReplyTimeoutException(EntityAddress address, long requestId, TimeSpan waited)
    : ClusterException($"No reply to persisted message {requestId} for {address} within {waited}; it stays stored and will still be processed.")
{
    /// <summary>The target entity.</summary>
    public EntityAddress Address { get; } = address;

    /// <summary>The stored request's id.</summary>
    public long RequestId { get; } = requestId;
}
