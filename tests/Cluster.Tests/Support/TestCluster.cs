using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Memory;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Runners;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Runners and a client-only node in one process, over the in-memory transport and storage, with short intervals.</summary>
public sealed class TestCluster : IAsyncDisposable
{
    public const int ShardsPerGroup = 300;

    private readonly Action<ShardingOptions>? _tweak;
    private readonly Action<EntityDefinition<CounterEntity, CounterEntity>>? _entity;
    private readonly List<Sharding> _runners = [];
    private readonly List<Sharding> _gone = [];

    private readonly Func<IRunnerTransport> _transports;
    private readonly Func<int, RunnerAddress> _addresses;
    private readonly List<IRunnerTransport> _ownedTransports = [];

    private readonly Action<ClusterBuilder>? _configure;
    private readonly Func<RunnerAddress, IRunnerHealth>? _health;

    private TestCluster(Action<ShardingOptions>? tweak, Action<EntityDefinition<CounterEntity, CounterEntity>>? entity, IRunnerStorage? storage, Func<IRunnerTransport>? transports, Func<int, RunnerAddress>? addresses, IMessageStorage? messages, Action<ClusterBuilder>? configure, Func<RunnerAddress, IRunnerHealth>? health = null, bool withCounter = true)
    {
        _configure = configure;
        _health = health;
        Messages = messages ?? new InMemoryMessageStorage();
        _tweak = tweak;
        _entity = entity;
        var shared = new InMemoryRunnerTransport();
        _transports = transports ?? (() => shared);
        _addresses = addresses ?? (ordinal => new RunnerAddress("runner", 34430 + ordinal));
        Storage = storage ?? new InMemoryRunnerStorage(Options(null).ShardLockExpiration);
        Client = CreateNode(null, withCounter);
    }

    public IRunnerStorage Storage { get; }

    public IMessageStorage Messages { get; }

    /// <summary>Every node's log, for failure messages.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public Probe Probe { get; } = new();

    public Sharding Client { get; }

    public IReadOnlyList<Sharding> Runners => _runners;

    public static async Task<TestCluster> StartAsync(
        int runners,
        Action<ShardingOptions>? tweak = null,
        Action<EntityDefinition<CounterEntity, CounterEntity>>? entity = null,
        IRunnerStorage? storage = null,
        Func<IRunnerTransport>? transports = null,
        Func<int, RunnerAddress>? addresses = null,
        IMessageStorage? messages = null,
        Action<ClusterBuilder>? configure = null,
        bool runnersHostCounter = true,
        bool withCounter = true,
        Func<RunnerAddress, IRunnerHealth>? health = null,
        bool waitUntilStable = true)
    {
        var cluster = new TestCluster(tweak, entity, storage, transports, addresses, messages, configure, health, withCounter);
        for (var i = 1; i <= runners; i++)
        {
            await cluster.AddRunnerAsync(runnersHostCounter && withCounter);
        }

        await cluster.Client.StartAsync();
        if (waitUntilStable)
        {
            // Not when runners outside this cluster (e.g. Effect's, in the interop tests) hold some of the shards.
            await cluster.WaitUntilStableAsync();
        }

        return cluster;
    }

    public ShardingOptions Options(RunnerAddress? address)
    {
        var options = new ShardingOptions
        {
            RunnerAddress = address is { } a ? new EndpointOptions { Host = a.Host, Port = a.Port } : null,
            ShardsPerGroup = ShardsPerGroup,
            RefreshAssignmentsInterval = TimeSpan.FromMilliseconds(100),
            ShardLockRefreshInterval = TimeSpan.FromMilliseconds(250),
            ShardLockExpiration = TimeSpan.FromSeconds(1.5),
            SendRetryInterval = TimeSpan.FromMilliseconds(20),
            SendTimeout = TimeSpan.FromSeconds(15),
            StorageTimeout = TimeSpan.FromSeconds(1),
            EntityTerminationTimeout = TimeSpan.FromSeconds(2),
            EntityMessagePollInterval = TimeSpan.FromMilliseconds(500),
            EntityReplyPollInterval = TimeSpan.FromMilliseconds(50),
            PersistedReplyTimeout = TimeSpan.FromSeconds(30),
        };
        _tweak?.Invoke(options);
        return options;
    }

    /// <remarks><paramref name="hostsCounter"/>: False for a runner of an older version, without <see cref="CounterEntity"/>.</remarks>
    public Sharding CreateNode(RunnerAddress? address, bool hostsCounter = true)
    {
        var builder = new ClusterBuilder();
        if (hostsCounter)
        {
            builder.AddEntity(context =>
            {
                Interlocked.Increment(ref Probe.Created);
                return new CounterEntity(context, Probe);
            }, definition =>
            {
                CounterEntity.Configure(definition);
                _entity?.Invoke(definition);
            });
        }

        _configure?.Invoke(builder);
        var transport = _transports();
        _ownedTransports.Add(transport);
        var logs = Logs.CreateFactory();
        return new Sharding(Options(address), Storage, transport, builder.Entities, logs, messageStorage: Messages,
            singletons: builder.Singletons, crons: builder.Crons, runnerHealth: address is { } runner ? _health?.Invoke(runner) : null, workflows: builder.Workflows);
    }

    public async Task<Sharding> AddRunnerAsync(bool hostsCounter = true)
    {
        var runner = CreateNode(_addresses(_runners.Count + _gone.Count + 1), hostsCounter);
        _runners.Add(runner);
        await runner.StartAsync();
        return runner;
    }

    /// <summary>Leaves gracefully (unregister, stop entities, release leases).</summary>
    public async Task StopRunnerAsync(Sharding runner)
    {
        _runners.Remove(runner);
        _gone.Add(runner);
        await runner.StopAsync();
    }

    /// <summary>Dies without a goodbye: stops serving and refreshing, keeps its registration and leases.</summary>
    public async Task CrashRunnerAsync(Sharding runner)
    {
        _runners.Remove(runner);
        _gone.Add(runner);
        await runner.CrashAsync();
    }

    /// <summary>Every live node agrees on the assignment and every shard is held by its assigned runner.</summary>
    public Task WaitUntilStableAsync(TimeSpan? timeout = null) => Eventually.True(() =>
    {
        var live = _runners.ToArray();
        if (live.Length == 0)
        {
            return false;
        }

        for (var shard = 1; shard <= ShardsPerGroup; shard++)
        {
            var id = new ShardId(ShardId.DefaultGroup, shard);
            var owner = Client.GetOwner(id);
            if (owner is null || live.Any(r => r.GetOwner(id) != owner))
            {
                return false;
            }

            if ((Storage is InMemoryRunnerStorage memory && memory.LeaseOwner(id) != owner)
                || live.SingleOrDefault(r => r.Address == owner) is not { } holder
                || !holder.OwnedShards.Contains(id))
            {
                return false;
            }
        }

        return live.Sum(r => r.OwnedShards.Count) == ShardsPerGroup * Options(null).AvailableShardGroups.Count;
    }, timeout ?? TimeSpan.FromSeconds(20), "every shard is held by the runner the assignment names");

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        foreach (var runner in _runners.Concat(_gone))
        {
            await runner.DisposeAsync();
        }

        foreach (var transport in _ownedTransports.Distinct().OfType<IAsyncDisposable>())
        {
            await transport.DisposeAsync();
        }
    }
}
