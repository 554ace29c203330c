using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>A client-only node is ready when it has read at least one healthy runner from storage.</summary>
internal sealed class ClientReadinessCheck(Sharding sharding) : IHealthCheck
{
    /// <summary>The check's name in the health report.</summary>
    public const string Name = "cluster-client";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var healthy = sharding.Runners.Count(r => r.Healthy);
        return Task.FromResult(healthy > 0
            ? HealthCheckResult.Healthy($"{healthy} healthy runners.")
            : HealthCheckResult.Unhealthy("No healthy runner is registered in storage."));
    }
}
