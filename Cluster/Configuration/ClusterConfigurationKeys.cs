namespace SocketRunnerAspire.Cluster.Configuration;

/// <summary>
/// The configuration keys a cluster node reads, shared by the nodes and whatever configures them (the AppHost sets
/// them as environment variables: see <see cref="ToEnvironmentVariable"/>). This file depends on nothing else of the
/// library, so an orchestrator can reference or link it alone.
/// </summary>
public static class ClusterConfigurationKeys
{
    /// <summary>The section the cluster's settings bind from (<c>ShardingOptions</c>).</summary>
    public const string Section = "Cluster";

    /// <summary>The cluster's name; runners and clients of one cluster share it (storage key prefix).</summary>
    public const string Name = Section + ":Name";

    /// <summary>The address a runner advertises (<c>Host</c> and <c>Port</c>); a node without it is client-only.</summary>
    public const string RunnerAddress = Section + ":RunnerAddress";

    /// <summary>The advertised host of a runner.</summary>
    public const string RunnerAddressHost = RunnerAddress + ":Host";

    /// <summary>The advertised port of a runner.</summary>
    public const string RunnerAddressPort = RunnerAddress + ":Port";

    /// <summary>
    /// Which storage the named connection of <c>AddClusterRunner</c>/<c>AddClusterClient</c> is: <see cref="RedisStorage"/>
    /// (the default; a StackExchange.Redis connection string) or <see cref="PostgresStorage"/> (an Npgsql one).
    /// </summary>
    public const string Storage = Section + ":Storage";

    /// <summary>The <see cref="Storage"/> value for Redis (or Garnet) storage.</summary>
    public const string RedisStorage = "Redis";

    /// <summary>The <see cref="Storage"/> value for PostgreSQL storage in Effect's SQL tables.</summary>
    public const string PostgresStorage = "Postgres";

    /// <summary>The prefix of the PostgreSQL tables (<c>{prefix}_runners</c>, …; Effect's default <c>cluster</c>).</summary>
    public const string PostgresTablePrefix = Section + ":Postgres:TablePrefix";

    /// <summary>The socket transport's settings (<c>RunnerSocketOptions</c>).</summary>
    public const string Socket = Section + ":Socket";

    /// <summary>The secret every runner and client of the cluster proves on each runner connection.</summary>
    public const string ClusterSecret = Socket + ":ClusterSecret";

    /// <summary>The environment variable that sets <paramref name="key"/> (<c>Cluster:Socket:ClusterSecret</c> → <c>Cluster__Socket__ClusterSecret</c>).</summary>
    public static string ToEnvironmentVariable(string key) => key.Replace(":", "__", StringComparison.Ordinal);
}
