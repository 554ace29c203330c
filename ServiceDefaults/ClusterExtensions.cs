using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// One-line cluster registration for Aspire apps: Redis storage from the <c>storage</c> connection
/// (<c>AddRedisClient</c>), the socket runner transport, <see cref="Sharding"/> and a readiness check.
/// </summary>
public static class ClusterExtensions
{
    /// <summary>Name of the Aspire connection that holds the cluster's Redis-protocol storage.</summary>
    public const string StorageConnectionName = "storage";

    /// <summary>
    /// Joins the cluster as a runner: serves the runner protocol on <c>Cluster:RunnerAddress</c> (the
    /// AppHost passes the port of the runner's <c>runner</c> TCP endpoint) and hosts the entities registered
    /// in <paramref name="configure"/>. Ready when registered and holding the leases of its shards.
    /// </summary>
    public static TBuilder AddClusterRunner<TBuilder>(this TBuilder builder, Action<ClusterBuilder> configure) where TBuilder : IHostApplicationBuilder
    {
        if (builder.Configuration.GetSection("Cluster:RunnerAddress").GetChildren().Any() is false)
        {
            throw new InvalidOperationException("A runner needs Cluster:RunnerAddress (Host and Port); the AppHost sets it from the runner's TCP endpoint.");
        }

        AddCluster(builder, configure);
        builder.Services.AddHealthChecks().AddCheck<RunnerReadinessCheck>("cluster-runner", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Joins the cluster as a client-only participant: sends to entities, hosts none, opens outgoing
    /// connections only. Ready when storage is reachable and at least one runner is healthy.
    /// </summary>
    public static TBuilder AddClusterClient<TBuilder>(this TBuilder builder, Action<ClusterBuilder>? configure = null) where TBuilder : IHostApplicationBuilder
    {
        AddCluster(builder, configure ?? (_ => { }));
        builder.Services.PostConfigure<ShardingOptions>(options =>
        {
            options.RunnerAddress = null;
            options.RunnerListenAddress = null;
        });
        builder.Services.AddHealthChecks().AddCheck<ClientReadinessCheck>("cluster-client", tags: ["ready"]);
        return builder;
    }

    private static void AddCluster(IHostApplicationBuilder builder, Action<ClusterBuilder> configure)
    {
        // Fail fast while storage is unreachable instead of queueing commands: the cluster retries on its own
        // schedule, and a persisted send must not be reported failed and then run when the connection returns.
        builder.AddRedisClient(StorageConnectionName, configureOptions: options => options.BacklogPolicy = BacklogPolicy.FailFast);
        builder.Services.AddOptions<RunnerSocketOptions>().Bind(builder.Configuration.GetSection("Cluster:Socket"));
        builder.Services.AddSingleton<IRunnerStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ShardingOptions>>().Value;
            return new RedisRunnerStorage(sp.GetRequiredService<IConnectionMultiplexer>(), options.Name, options.ShardLockExpiration);
        });
        builder.Services.AddSingleton<IMessageStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ShardingOptions>>().Value;
            return new RedisMessageStorage(sp.GetRequiredService<IConnectionMultiplexer>(), options.Name, options.MessageRetention);
        });
        builder.Services.AddSingleton<IRunnerTransport>(sp =>
            new SocketRunnerTransport(sp.GetRequiredService<IOptions<RunnerSocketOptions>>().Value, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddCluster(builder.Configuration, configure);
    }

    private sealed class RunnerReadinessCheck(Sharding sharding) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(sharding.HoldsAssignedShards
                ? HealthCheckResult.Healthy($"Runner {sharding.Address} holds {sharding.OwnedShards.Count} shards.")
                : HealthCheckResult.Unhealthy(sharding.MachineId is null
                    ? $"Runner {sharding.Address} is not registered in storage yet."
                    : $"Runner {sharding.Address} holds {sharding.OwnedShards.Count} of its assigned shards so far."));
    }

    private sealed class ClientReadinessCheck(Sharding sharding) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var healthy = sharding.Runners.Count(r => r.Healthy);
            return Task.FromResult(healthy > 0
                ? HealthCheckResult.Healthy($"{healthy} healthy runners.")
                : HealthCheckResult.Unhealthy("No healthy runner is registered in storage."));
        }
    }
}
