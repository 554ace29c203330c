using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Configuration;

/// <summary>
/// Cluster settings, bound from the <c>Cluster</c> configuration section. Names, meaning and defaults
/// follow Effect's <c>ShardingConfig</c>; settings Effect does not have are marked as additions.
/// </summary>
public sealed class ShardingOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = ClusterConfigurationKeys.Section;

    /// <summary>Name of the cluster; runners and clients of one cluster share it (storage key prefix). Addition.</summary>
    public string Name { get; set; } = "cluster";

    /// <summary>The address this runner advertises. Null makes the process client-only (sends, hosts nothing).</summary>
    public EndpointOptions? RunnerAddress { get; set; }

    /// <summary>Where the runner server binds, when different from <see cref="RunnerAddress"/>.</summary>
    public EndpointOptions? RunnerListenAddress { get; set; }

    /// <summary>This runner's weight on the hash ring. Default 1.</summary>
    public double RunnerShardWeight { get; set; } = 1;

    /// <summary>Shard groups that exist in the cluster. Default <c>["default"]</c>.</summary>
    public List<string> AvailableShardGroups { get; set; } = [ShardId.DefaultGroup];

    /// <summary>Shard groups this runner hosts. Default <c>["default"]</c>.</summary>
    public List<string> AssignedShardGroups { get; set; } = [ShardId.DefaultGroup];

    /// <summary>Shards in each group. Default 300.</summary>
    public int ShardsPerGroup { get; set; } = 300;

    /// <summary>How often held shard leases are refreshed. Default 10 s.</summary>
    public TimeSpan ShardLockRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A lease not refreshed for this long may be taken by another runner. Default 35 s.</summary>
    public TimeSpan ShardLockExpiration { get; set; } = TimeSpan.FromSeconds(35);

    /// <summary>Release shards as soon as shutdown starts. Default true.</summary>
    public bool PreemptiveShutdown { get; set; } = true;

    /// <summary>Unreplied requests an entity may have before senders get <c>MailboxFull</c>; 0 = unbounded. Default 4096.</summary>
    public int EntityMailboxCapacity { get; set; } = 4096;

    /// <summary>
    /// Live entity instances a runner hosts at most, across all entity types; 0 = unbounded (the default). Addition
    /// (Effect has none). When an activation would exceed it, the least recently used idle instances (no unreplied
    /// request, keep-alive off) are passivated first; when none is idle the activation fails with
    /// <c>EntityCapacityExceeded</c> (persisted messages wait for room instead). Protects memory when a large
    /// persisted backlog arrives. Config key <c>Cluster:MaxResidentEntities</c>.
    /// </summary>
    public int MaxResidentEntities { get; set; }

    /// <summary>An entity with no message for this long is passivated. Default 1 min.</summary>
    public TimeSpan EntityMaxIdleTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a message waits for its entity type to be registered. Default 1 min.</summary>
    public TimeSpan EntityRegistrationTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Graceful stop budget of an entity when its shard leaves or the runner stops. Default 15 s.</summary>
    public TimeSpan EntityTerminationTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Storage poll for persisted messages. Default 10 s.</summary>
    public TimeSpan EntityMessagePollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Storage poll for replies of persisted messages. Default 200 ms.</summary>
    public TimeSpan EntityReplyPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the runner list is re-read and shard assignments recomputed. Default 3 s.</summary>
    public TimeSpan RefreshAssignmentsInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Retry interval while a shard has no owner or is moving. Default 100 ms.</summary>
    public TimeSpan SendRetryInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a send keeps retrying before it fails with a typed error. Default 30 s. Addition (Effect retries without limit).</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a sender waits for the reply of a persisted message (it survives runner deaths and shard moves,
    /// so it may take longer than <see cref="SendTimeout"/>). Default 5 min. Addition (Effect waits without limit).
    /// </summary>
    public TimeSpan PersistedReplyTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long completed persisted messages (and so their primary keys) are kept; zero keeps them forever. Default 1 day. Addition.</summary>
    public TimeSpan MessageRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Timeout of every RunnerStorage call. Default 5 s (Effect's storage sync timeout). Addition.</summary>
    public TimeSpan StorageTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Health re-check of runners. Default 1 min.</summary>
    public TimeSpan RunnerHealthCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How the health check tells whether a runner is alive, when no <see cref="Runners.IRunnerHealth"/> is registered
    /// in the container (one that is replaces it). Default <see cref="RunnerHealthKind.Ping"/>.
    /// </summary>
    public RunnerHealthKind RunnerHealth { get; set; } = RunnerHealthKind.Ping;

    /// <summary>Serialize messages even for local delivery, so serialization bugs show in one process. Default true.</summary>
    public bool SimulateRemoteSerialization { get; set; } = true;

    /// <summary>A health ping must answer within this (Effect's RunnerHealth: 10 s; not configurable there either).</summary>
    internal TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause between the five health ping attempts (Effect: 500 ms).</summary>
    internal TimeSpan PingRetryInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>True when no runner address is configured.</summary>
    public bool IsClientOnly => RunnerAddress is null;
}

/// <summary>A host and port (or, with port 0, a Unix socket path in <see cref="Host"/>).</summary>
public sealed class EndpointOptions
{
    /// <summary>Host name or IP address, or an absolute Unix socket path.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>TCP port; 0 with a path in <see cref="Host"/> for a Unix socket.</summary>
    public int Port { get; set; } = 34431;

    /// <summary>As a <see cref="Addressing.RunnerAddress"/>.</summary>
    public RunnerAddress ToRunnerAddress() => new(Host, Port);
}
