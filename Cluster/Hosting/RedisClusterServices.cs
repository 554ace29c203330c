using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>
/// What <c>AddClusterRunner</c> and <c>AddClusterClient</c> share: Redis RunnerStorage and MessageStorage on an Aspire
/// Redis connection (or PostgreSQL ones, when <c>Cluster:Storage</c> is <c>Postgres</c>: <see cref="PostgresClusterServices"/>), the socket transport bound from <c>Cluster:Socket</c>, and the cluster itself. Registered once per
/// host; a second call with the same connection only adds to the cluster.
/// </summary>
internal static class RedisClusterServices
{
    public static void Add(IHostApplicationBuilder builder, string connectionName, Action<ClusterBuilder>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        var existing = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(RedisClusterConnection))?.ImplementationInstance as RedisClusterConnection;
        if (existing is not null && existing.Name != connectionName)
        {
            throw new InvalidOperationException(
                $"The cluster already uses the storage connection '{existing.Name}'; it cannot also use '{connectionName}'.");
        }

        if (existing is null)
        {
            builder.Services.AddSingleton(new RedisClusterConnection(connectionName));
            builder.Services.AddOptions<RunnerSocketOptions>().Bind(builder.Configuration.GetSection(ClusterConfigurationKeys.Socket));
            builder.Services.AddSingleton<IRunnerTransport>(sp =>
                new SocketRunnerTransport(sp.GetRequiredService<IOptions<RunnerSocketOptions>>().Value, sp.GetRequiredService<ILoggerFactory>()));
            var storage = builder.Configuration[ClusterConfigurationKeys.Storage];
            if (string.Equals(storage, ClusterConfigurationKeys.PostgresStorage, StringComparison.OrdinalIgnoreCase))
            {
                PostgresClusterServices.AddStorage(builder, connectionName);
            }
            else if (string.IsNullOrWhiteSpace(storage) || string.Equals(storage, ClusterConfigurationKeys.RedisStorage, StringComparison.OrdinalIgnoreCase))
            {
                AddRedisStorage(builder, connectionName);
            }
            else
            {
                throw new InvalidOperationException(
                    $"{ClusterConfigurationKeys.Storage} must be {ClusterConfigurationKeys.RedisStorage} (the default) or {ClusterConfigurationKeys.PostgresStorage} (was '{storage}').");
            }
        }

        builder.Services.AddCluster(builder.Configuration, configure);
    }

    private static void AddRedisStorage(IHostApplicationBuilder builder, string connectionName)
    {
        // Fail fast while storage is unreachable instead of queueing commands: the cluster retries on its own
        // schedule, and a persisted send must not be reported failed and then run when the connection returns.
        builder.AddRedisClient(connectionName, configureOptions: options => options.BacklogPolicy = BacklogPolicy.FailFast);
        builder.Services.AddSingleton<IRunnerStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ShardingOptions>>().Value;
            return new RedisRunnerStorage(sp.GetRequiredService<IConnectionMultiplexer>(), options.Name, options.ShardLockExpiration);
        });
        builder.Services.AddSingleton<IMessageStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ShardingOptions>>().Value;
            return new RedisMessageStorage(sp.GetRequiredService<IConnectionMultiplexer>(), options.Name, options.MessageRetention,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<RedisMessageStorage>());
        });
    }

    /// <summary>Adds the readiness check <typeparamref name="TCheck"/> once, however often the cluster is added.</summary>
    public static void AddReadinessCheck<TCheck>(IHostApplicationBuilder builder, string name) where TCheck : class, Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(ReadinessCheckMarker<TCheck>)))
        {
            return;
        }

        builder.Services.AddSingleton<ReadinessCheckMarker<TCheck>>();
        builder.Services.AddHealthChecks().AddCheck<TCheck>(name, tags: ["ready"]);
    }

    /// <summary>The storage connection the cluster of this host uses.</summary>
    private sealed record RedisClusterConnection(string Name);

    private sealed class ReadinessCheckMarker<TCheck>;
}
