using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>Configuration for a host-built test node: few shards and short intervals, so one runner is ready quickly.</summary>
internal static class HostingSettings
{
    public static Dictionary<string, string?> Fast(RunnerAddress? runner, string? clusterName = null)
    {
        var settings = new Dictionary<string, string?>
        {
            [ClusterConfigurationKeys.Name] = clusterName ?? $"hosting-{Guid.NewGuid():N}",
            ["Cluster:ShardsPerGroup"] = "16",
            ["Cluster:RefreshAssignmentsInterval"] = "00:00:00.100",
            ["Cluster:ShardLockRefreshInterval"] = "00:00:00.250",
            ["Cluster:ShardLockExpiration"] = "00:00:02",
            ["Cluster:SendRetryInterval"] = "00:00:00.020",
            ["Cluster:EntityTerminationTimeout"] = "00:00:02",
        };
        if (runner is { } address)
        {
            settings[ClusterConfigurationKeys.RunnerAddressHost] = address.Host;
            settings[ClusterConfigurationKeys.RunnerAddressPort] = address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return settings;
    }
}
