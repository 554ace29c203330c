using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Postgres;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>
/// PostgreSQL RunnerStorage and MessageStorage for <c>AddClusterRunner</c>/<c>AddClusterClient</c> when
/// <c>Cluster:Storage</c> is <c>Postgres</c>: one pooled <see cref="NpgsqlDataSource"/> on the Npgsql connection string
/// <c>ConnectionStrings:{connectionName}</c>, Effect's tables under <c>Cluster:Postgres:TablePrefix</c> (default
/// <c>cluster</c>). Completed requests are kept (Effect's SQL storage deletes nothing either; <c>MessageRetention</c> applies to Redis).
/// </summary>
internal static class PostgresClusterServices
{
    public static void AddStorage(IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{ClusterConfigurationKeys.Storage}={ClusterConfigurationKeys.PostgresStorage} needs the Npgsql connection string ConnectionStrings:{connectionName}.");
        }

        var prefix = builder.Configuration[ClusterConfigurationKeys.PostgresTablePrefix] ?? PostgresTables.DefaultPrefix;
        _ = new PostgresTables(prefix);   // a bad prefix fails here, at start-up, not at the first storage call
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddSingleton<IRunnerStorage>(sp => new PostgresRunnerStorage(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<ShardingOptions>>().Value.ShardLockExpiration, prefix));
        builder.Services.AddSingleton<IMessageStorage>(sp => new PostgresMessageStorage(
            sp.GetRequiredService<NpgsqlDataSource>(), prefix, sp.GetRequiredService<ILoggerFactory>().CreateLogger<PostgresMessageStorage>()));
    }
}
