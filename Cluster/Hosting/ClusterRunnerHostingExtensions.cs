using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Joins an Aspire app to the cluster as a runner.</summary>
public static class ClusterRunnerHostingExtensions
{
    /// <summary>
    /// Joins the cluster as a runner: Redis RunnerStorage and MessageStorage on the Aspire Redis connection
    /// <paramref name="connectionName"/> (<c>ConnectionStrings:{connectionName}</c>, as <c>AddRedisClient</c>), or PostgreSQL
    /// ones in Effect's SQL tables when <c>Cluster:Storage</c> is <c>Postgres</c> (an Npgsql connection string), serves the
    /// runner protocol on <c>Cluster:RunnerAddress</c> with the socket transport (<c>Cluster:Socket</c>), and hosts the
    /// entities, singleton jobs and cron schedules registered in <paramref name="configure"/>. Adds the readiness check
    /// <c>cluster-runner</c> (tag <c>ready</c>): healthy when registered and holding the leases of its shards.
    /// </summary>
    public static TBuilder AddClusterRunner<TBuilder>(this TBuilder builder, string connectionName, Action<ClusterBuilder> configure)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        if (!builder.Configuration.GetSection(ClusterConfigurationKeys.RunnerAddress).GetChildren().Any())
        {
            throw new InvalidOperationException(
                $"A runner needs {ClusterConfigurationKeys.RunnerAddress} (Host and Port); the AppHost sets it from the runner's TCP endpoint.");
        }

        RedisClusterServices.Add(builder, connectionName, configure);
        RedisClusterServices.AddReadinessCheck<RunnerReadinessCheck>(builder, RunnerReadinessCheck.Name);
        return builder;
    }
}
