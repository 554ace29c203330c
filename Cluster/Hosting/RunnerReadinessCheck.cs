using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>A runner is ready when it is registered in RunnerStorage and holds the leases of every shard assigned to it.</summary>
internal sealed class RunnerReadinessCheck(Sharding sharding) : IHealthCheck
{
    /// <summary>The check's name in the health report.</summary>
    public const string Name = "cluster-runner";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(sharding.HoldsAssignedShards
            ? HealthCheckResult.Healthy($"Runner {sharding.Address} holds {sharding.OwnedShards.Count} shards.")
            : HealthCheckResult.Unhealthy(sharding.MachineId is null
                ? $"Runner {sharding.Address} is not registered in storage yet."
                : $"Runner {sharding.Address} holds {sharding.OwnedShards.Count} of its assigned shards so far."));
}
