using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Joins an Aspire app to the cluster as a client-only participant.</summary>
public static class ClusterClientHostingExtensions
{
    /// <summary>
    /// Joins the cluster as a client-only participant: reads the runner registry from Redis on the Aspire connection
    /// <paramref name="connectionName"/> (<c>ConnectionStrings:{connectionName}</c>, as <c>AddRedisClient</c>; PostgreSQL when
    /// <c>Cluster:Storage</c> is <c>Postgres</c>) and sends to
    /// entities over outgoing socket connections; hosts none, whatever <c>Cluster:RunnerAddress</c> says. Adds the
    /// readiness check <c>cluster-client</c> (tag <c>ready</c>): healthy when storage is reachable and at least one runner
    /// is healthy. <paramref name="configure"/> may register entity types to look up their shard group.
    /// </summary>
    public static TBuilder AddClusterClient<TBuilder>(this TBuilder builder, string connectionName, Action<ClusterBuilder>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        RedisClusterServices.Add(builder, connectionName, configure);
        builder.Services.PostConfigure<ShardingOptions>(options =>
        {
            options.RunnerAddress = null;
            options.RunnerListenAddress = null;
        });
        RedisClusterServices.AddReadinessCheck<ClientReadinessCheck>(builder, ClientReadinessCheck.Name);
        return builder;
    }
}
