using System.Globalization;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// Shortened cluster timings shared by the runner processes and the load generator (both read them as
/// <c>Cluster:*</c> configuration), so a crashed runner's shards move within seconds and CI stays bounded.
/// </summary>
public static class ClusterTimings
{
    public static readonly TimeSpan ShardLockExpiration = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan ShardLockRefreshInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RefreshAssignmentsInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan EntityMessagePollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan PersistedReplyTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan EntityTerminationTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Longest a non-persisted call may take before the test calls it a hang: the send deadline plus slack.</summary>
    public static TimeSpan VolatileCallBound => SendTimeout + TimeSpan.FromSeconds(10);

    /// <summary>Longest a persisted call may take before the test calls it a hang: the reply deadline plus slack.</summary>
    public static TimeSpan PersistedCallBound => PersistedReplyTimeout + StorageTimeout + TimeSpan.FromSeconds(10);

    /// <summary>
    /// How soon after a SIGKILL its shards are owned again. After the killed runner's last lease refresh its leases and
    /// its heartbeat expire together; the survivors see it gone at their next assignment refresh and take its shards at
    /// their next rebalance. Allowed on top of the expiry: one assignment refresh, one lease refresh, and 3 s for a
    /// loaded 2-core machine and the tests' polling.
    /// </summary>
    public static TimeSpan ReownershipBound => ShardLockExpiration + RefreshAssignmentsInterval + ShardLockRefreshInterval + TimeSpan.FromSeconds(3);

    /// <summary>The settings as configuration keys (<c>Cluster:...</c>) for <paramref name="clusterName"/>.</summary>
    public static Dictionary<string, string> Settings(string clusterName) => new()
    {
        ["Cluster:Name"] = clusterName,
        ["Cluster:ShardLockExpiration"] = Format(ShardLockExpiration),
        ["Cluster:ShardLockRefreshInterval"] = Format(ShardLockRefreshInterval),
        ["Cluster:RefreshAssignmentsInterval"] = Format(RefreshAssignmentsInterval),
        ["Cluster:EntityMessagePollInterval"] = Format(EntityMessagePollInterval),
        ["Cluster:StorageTimeout"] = Format(StorageTimeout),
        ["Cluster:SendTimeout"] = Format(SendTimeout),
        ["Cluster:PersistedReplyTimeout"] = Format(PersistedReplyTimeout),
        ["Cluster:EntityTerminationTimeout"] = Format(EntityTerminationTimeout),
    };

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
