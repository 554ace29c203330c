using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Cron;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Registrations;
using SocketRunnerAspire.Cluster.Routing;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Cluster;

/// <summary>
/// This node's part in the cluster (Effect's <c>Sharding</c>): what users call (<see cref="IEntityClient"/>) and what
/// diagnostics read. As a runner it registers in RunnerStorage, holds the leases of the shards the assignment gives it
/// and hosts their entities; client-only (no runner address) it only sends. The work is done by the components it
/// wires together (README, "How it works"): <see cref="RunnerMembership"/>, <see cref="RunnerHealthMonitor"/> (a singleton),
/// <see cref="ShardOwnership"/>, <see cref="ShardRebalancer"/>, <see cref="ShardLeaseRefresher"/>,
/// <see cref="EntityHost"/>, <see cref="MessageRouter"/>, <see cref="RunnerRpcHandler"/>, <see cref="PersistedSender"/>,
/// <see cref="PersistedDelivery"/>, <see cref="StorageReadLoop"/> and <see cref="SingletonSupervisor"/>.
/// </summary>
public sealed class Sharding : IEntityClient, IAsyncDisposable
{
    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly IRunnerTransport _transport;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RunnerMembership _membership;
    private readonly ShardOwnership _ownership = new();
    private readonly EntityHost _entities;
    private readonly MessageRouter _router;
    private readonly ReplyPoller? _replies;
    private readonly SingletonSupervisor _singletons;
    private readonly RunnerRpcHandler? _rpcHandler;
    private readonly ShardRebalancer? _rebalancer;
    private readonly ShardLeaseRefresher? _leases;
    private readonly StorageReadLoop? _storageReads;
    private readonly IMessageStorage? _messages;
    private readonly StorageReadSchedule? _schedule;
    private readonly RegistrationEventLog _registrations;
    private readonly ClusterRegistrationEvent[] _hosted;
    private volatile bool _stopped;
    private int _disposed;
    private IAsyncDisposable? _listener;
    private IAsyncDisposable? _notifications;
    private Task[] _loops = [];

    /// <summary>Wires a node; <see cref="StartAsync"/> joins the cluster. Hosts create it through <c>AddCluster</c>.</summary>
    internal Sharding(
        ShardingOptions options,
        IRunnerStorage storage,
        IRunnerTransport transport,
        IEnumerable<EntityRegistration> entities,
        ILoggerFactory? loggerFactory = null,
        IServiceProvider? services = null,
        ClusterSerializer? serializer = null,
        IMessageStorage? messageStorage = null,
        IEnumerable<SingletonRegistration>? singletons = null,
        IEnumerable<CronRegistration>? crons = null,
        TimeProvider? timeProvider = null,
        IRunnerHealth? runnerHealth = null,
        IReadOnlyCollection<WorkflowRegistration>? workflows = null)
    {
        _options = options;
        _storage = storage;
        _transport = transport;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        services ??= EmptyServiceProvider.Instance;
        serializer ??= ClusterSerializer.Default;
        Serializer = serializer;
        _logger = loggerFactory.CreateLogger<Sharding>();
        Address = options.RunnerAddress?.ToRunnerAddress();
        var self = Address is { } address ? new RunnerInfo(address, options.AssignedShardGroups.ToArray(), options.RunnerShardWeight) : null;

        var (cronEntity, cronSingletons) = CronScheduler.Registrations(this, crons ?? [], _time, _logger);
        _membership = new RunnerMembership(options, storage, transport, self, _time, _logger);
        Workflows = new WorkflowClient(this);
        EntityRegistration[] hostedEntities =
        [
            .. entities,
            .. cronEntity is null ? Array.Empty<EntityRegistration>() : [cronEntity],
            .. Address is null ? [] : WorkflowEngine.Registrations(this, workflows ?? [], _logger),
        ];
        var schedule = messageStorage is not null && Address is not null ? new StorageReadSchedule(options.EntityMessagePollInterval, _time) : null;
        _schedule = schedule;
        var keepAlive = schedule is null ? null : new KeepAliveMessages(options, messageStorage!, _membership.Ids, schedule, _time);
        _entities = new EntityHost(hostedEntities, Address, options, _ownership, services, loggerFactory, _time, keepAlive);
        _ownership.AddListener(_entities);
        var health = Address is null ? null : new RunnerHealthMonitor(options, storage,
            runnerHealth ?? (options.RunnerHealth == RunnerHealthKind.Noop ? NoopRunnerHealth.Instance : new PingRunnerHealth(options, transport, _time, _logger)),
            _membership, _time, _logger);
        SingletonRegistration[] hostedSingletons = [.. singletons ?? [], .. cronSingletons, .. health is null ? Array.Empty<SingletonRegistration>() : [health.Singleton]];
        _registrations = new RegistrationEventLog(_logger);
        _hosted = Address is null ? [] :
        [
            .. hostedEntities.Select(e => new EntityRegistered(e.Name, e.ShardGroup)),
            .. hostedSingletons.Select(s => new SingletonRegistered(s.Name, ShardingHash.ShardOf(s.Name, s.ShardGroup, options.ShardsPerGroup))),
        ];
        _singletons = new SingletonSupervisor(hostedSingletons, _ownership,
            singleton => new SingletonContext(singleton.Name, Address!.Value, services, this),
            options.ShardsPerGroup, options.EntityTerminationTimeout, _time, _logger);
        _ownership.AddListener(_singletons);

        _messages = messageStorage;
        PersistedDelivery? delivery = null;
        if (messageStorage is not null)
        {
            _replies = new ReplyPoller(messageStorage, options.EntityReplyPollInterval, options.StorageTimeout, _time, _logger);
            if (Address is { } runner && schedule is not null)
            {
                delivery = new PersistedDelivery(options, messageStorage, _entities, _ownership, _replies, schedule, serializer, runner, _time, _logger, _stopping.Token);
                _storageReads = new StorageReadLoop(options, messageStorage, _ownership, delivery, schedule, _time, _logger);
                _ownership.AddListener(_storageReads);
            }
        }

        var persisted = new PersistedSender(options, messageStorage, _replies, delivery, schedule, _ownership, _membership, transport, serializer, _time, _logger);
        _router = new MessageRouter(options, _entities, _ownership, _membership, transport, persisted, serializer, _time);
        if (Address is { } host)
        {
            _rpcHandler = new RunnerRpcHandler(_entities, delivery, schedule, serializer, host, () => _membership.Ids.Next());
            _rebalancer = new ShardRebalancer(options, storage, _membership, _ownership, _time, _logger);
            _leases = new ShardLeaseRefresher(options, storage, _ownership, host, _rebalancer.Wake, _time, _logger);
            _membership.AssignmentChanged += _rebalancer.Wake;
        }
    }

    /// <summary>This runner's advertised address; null for a client-only participant.</summary>
    public RunnerAddress? Address { get; }

    /// <summary>True when this participant only sends.</summary>
    public bool IsClientOnly => Address is null;

    /// <summary>The machine id RunnerStorage gave this runner (for Snowflake ids); null until registered.</summary>
    public long? MachineId => _membership.MachineId;

    /// <summary>Shards whose lease this runner holds (and whose entities it hosts).</summary>
    public IReadOnlyCollection<ShardId> OwnedShards => _ownership.Owned;

    /// <summary>The runners last read from storage, with health.</summary>
    public IReadOnlyList<RegisteredRunner> Runners => _membership.Runners;

    /// <summary>Names of the singletons running on this runner (diagnostics and tests), the cluster's own runner health check included; a job that returned is not listed.</summary>
    public IReadOnlyCollection<string> RunningSingletons => _singletons.Running;

    /// <summary>
    /// The entity types and singletons this runner registered (Effect's <c>getRegistrationEvents</c>), in order, each
    /// once; a subscriber first receives those registered before it subscribed. Registration happens when the runner
    /// starts (the cluster's own, such as the runner health check, included); a client-only node registers nothing.
    /// Completes when this node is disposed. Observers are called synchronously and must not block.
    /// </summary>
    public IObservable<ClusterRegistrationEvent> RegistrationEvents => _registrations;

    /// <summary>Registered in RunnerStorage and holding the lease of every shard assigned to it (runners); always false for clients.</summary>
    public bool HoldsAssignedShards =>
        Address is { } self && MachineId is not null && !_ownership.IsStopping &&
        _membership.Assignment.Where(a => a.Value == self).All(a => _ownership.IsOwned(a.Key)) && _membership.Assignment.Count > 0;

    /// <summary>
    /// Registers a singleton on this running runner (Effect's <c>registerSingleton</c>), as
    /// <see cref="Hosting.ClusterBuilder.AddSingletonJob"/> does at start: it runs while this runner holds the shard
    /// <paramref name="name"/> hashes to in <paramref name="shardGroup"/>, and <see cref="RegistrationEvents"/> announces
    /// it. Ignored on a client-only node. Every runner that may host it must register it.
    /// </summary>
    /// <exception cref="AlreadyRegisteredException">A singleton named <paramref name="name"/> is registered here already.</exception>
    public void RegisterSingleton(string name, Func<SingletonContext, CancellationToken, Task> run, string shardGroup = ShardId.DefaultGroup)
    {
        ArgumentNullException.ThrowIfNull(run);
        var singleton = new SingletonRegistration(name, run, shardGroup);
        if (IsClientOnly)
        {
            return;
        }

        if (!_singletons.TryAdd(singleton))
        {
            throw new AlreadyRegisteredException(name);
        }

        _registrations.Publish(new SingletonRegistered(name, ShardingHash.ShardOf(name, shardGroup, _options.ShardsPerGroup)));
    }

    /// <inheritdoc />
    public long NewSnowflakeId() => _membership.Ids.Next();

    /// <summary>The shard of <paramref name="entityId"/> in <paramref name="group"/>.</summary>
    public ShardId GetShardId(string entityId, string group = ShardId.DefaultGroup) =>
        ShardingHash.ShardOf(entityId, group, _options.ShardsPerGroup);

    /// <summary>The runner the current assignment gives <paramref name="shard"/> to, if any.</summary>
    public RunnerAddress? GetOwner(ShardId shard) => _membership.OwnerOf(shard);

    /// <inheritdoc />
    public EntityRef<TEntity> GetEntity<TEntity>(string entityId)
    {
        ArgumentException.ThrowIfNullOrEmpty(entityId);
        return new EntityRef<TEntity>(this,
            new EntityAddress(EntityNames.Of<TEntity>.Name, entityId, GetShardId(entityId, EntityNames.Of<TEntity>.ShardGroup)));
    }

    /// <inheritdoc />
    public EntityLocation Locate(string entityType, string entityId)
    {
        var shard = GetShardId(entityId, _entities.ShardGroupOf(entityType));
        return new EntityLocation(shard, GetOwner(shard));
    }

    /// <summary>How many shards the current assignment gives each runner.</summary>
    public IReadOnlyDictionary<RunnerAddress, int> AssignedShardCounts() =>
        _membership.Assignment.GroupBy(a => a.Value).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>
    /// Makes a persisted request run again (Effect's <c>Sharding.reset</c>): forgets its saved replies and interrupt so
    /// its shard's owner hands it to the entity once more. True when storage did so; false when there is no message
    /// storage or the storage call failed (within the storage timeout, or when <paramref name="cancellationToken"/> fires).
    /// </summary>
    public async Task<bool> ResetAsync(long requestId, CancellationToken cancellationToken = default)
    {
        if (_messages is null)
        {
            return false;
        }

        try
        {
            using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time, cancellationToken);
            await _messages.ClearRepliesAsync(requestId, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is ClusterException or OperationCanceledException)
        {
            StorageCalls.LogResetFailed(_logger, ex, requestId);
            return false;
        }
    }

    /// <summary>Live entity instances of <paramref name="entityType"/> on this runner (diagnostics).</summary>
    public int ActiveEntities(string entityType) => _entities.ActiveEntities(entityType);

    /// <summary>True when the entity is alive on this runner (diagnostics and tests).</summary>
    public bool IsActive(EntityAddress address) => _entities.IsActive(address);

    /// <summary>The runner's cap on live instances (tests read its count and peak); null when unbounded.</summary>
    internal ResidentEntities? ResidentEntities => _entities.Residents;

    /// <summary>Messages queued or running for the entity on this runner (tests wait on it instead of sleeping).</summary>
    internal int MailboxDepth(EntityAddress address) => _entities.Pending(address);

    /// <remarks><paramref name="primaryKey"/>: for a persisted message, replaces its <see cref="IPrimaryKey"/> (the HTTP proxy's Idempotency-Key).</remarks>
    internal Task<TReply> SendAsync<TReply>(EntityAddress address, RpcKind kind, object request, CancellationToken cancellationToken, string? primaryKey = null) =>
        _router.SendAsync<TReply>(address, kind, request, cancellationToken, primaryKey);

    internal Task SendDiscardAsync(EntityAddress address, RpcKind kind, object request, CancellationToken cancellationToken) =>
        _router.SendDiscardAsync(address, kind, request, cancellationToken);

    /// <summary>The MessageStorage this node uses, if any.</summary>
    internal IMessageStorage? MessageStorage => _messages;

    /// <summary>Runs and steers durable workflows through this node (also registered in DI as <see cref="IWorkflowClient"/>).</summary>
    public IWorkflowClient Workflows { get; }

    /// <summary>The clock this node runs on.</summary>
    internal TimeProvider Time => _time;

    /// <summary>The serializer of entity messages and replies on this node.</summary>
    internal ClusterSerializer Serializer { get; }

    /// <summary>The options this node runs with.</summary>
    internal ShardingOptions Options => _options;

    /// <summary>Reads this runner's persisted messages now (a request of a shard it owns was reset); no-op on clients.</summary>
    internal void ReadStorageNow() => _schedule?.WakeNow();

    internal IAsyncEnumerable<TItem> StreamAsync<TItem>(EntityAddress address, object request, CancellationToken cancellationToken, string? primaryKey = null) =>
        _router.StreamAsync<TItem>(address, request, cancellationToken, primaryKey);

    /// <summary>Joins the cluster: starts the runner server (runners), reads the runner list and starts the background loops.</summary>
    internal async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Address is { } address)
        {
            var listen = _options.RunnerListenAddress?.ToRunnerAddress() ?? address;
            _listener = await _transport.ListenAsync(listen, _rpcHandler!, cancellationToken).ConfigureAwait(false);
        }

        foreach (var registration in _hosted)
        {
            _registrations.Publish(registration);
        }

        var stopping = _stopping.Token;
        await SubscribeToStorageChangesAsync(cancellationToken).ConfigureAwait(false);
        var membership = await _membership.StartAsync(stopping).ConfigureAwait(false);
        ClusterGauges.Track(this);
        _loops = _rebalancer is null
            ? [membership]
            :
            [
                membership,
                _rebalancer.Start(stopping),
                _leases!.Start(stopping),
                .. _storageReads is null ? Array.Empty<Task>() : [_storageReads.Start(stopping)],
            ];
        _rebalancer?.Wake();
    }

    /// <summary>
    /// Leaves the cluster gracefully: unregisters, stops every entity within the termination timeout,
    /// releases all leases and stops serving.
    /// </summary>
    internal async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _ownership.BeginStopping();
        await _membership.LeaveAsync(unregister: Address is not null && _options.PreemptiveShutdown).ConfigureAwait(false);
        await StopLoopsAsync().ConfigureAwait(false);
        if (Address is { } self)
        {
            await Task.WhenAll(_ownership.Owned.Select(_ownership.ReleaseAsync)).ConfigureAwait(false);
            await _singletons.StopAllAsync(_options.EntityTerminationTimeout).ConfigureAwait(false);
            await StorageCalls.IgnoringErrorsAsync(ct => _storage.ReleaseAllAsync(self, ct), _options.StorageTimeout, _time, _logger).ConfigureAwait(false);
            if (!_options.PreemptiveShutdown)
            {
                await _membership.UnregisterAsync().ConfigureAwait(false);
            }
        }

        // Its entities are stopped: what this node sent that still runs elsewhere is interrupted now (Effect does on shutdown).
        _router.Stop();
        await _transport.InterruptSentAsync().ConfigureAwait(false);
        await DisposeListenerAsync().ConfigureAwait(false);
        await UnsubscribeFromStorageChangesAsync().ConfigureAwait(false);
        ClusterGauges.Untrack(this);
    }

    /// <summary>
    /// Simulates a crash (tests): stops serving and all background work at once, without unregistering
    /// or releasing leases, so other runners take its shards only after the leases expire.
    /// </summary>
    internal async Task CrashAsync()
    {
        _stopped = true;
        _ownership.DropAll();

        // A killed process finishes nothing: queued messages are dropped and running handlers interrupted
        // before anything else (closing connections first would let queued messages run meanwhile).
        await _singletons.StopAllAsync(TimeSpan.Zero).ConfigureAwait(false);
        await _entities.StopAllAsync(TimeSpan.Zero).ConfigureAwait(false);
        await DisposeListenerAsync().ConfigureAwait(false);
        await StopLoopsAsync().ConfigureAwait(false);
        await UnsubscribeFromStorageChangesAsync().ConfigureAwait(false);
        await _entities.DisposeAsync().ConfigureAwait(false);
        ClusterGauges.Untrack(this);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        await _entities.DisposeAsync().ConfigureAwait(false);
        if (_replies is not null)
        {
            await _replies.DisposeAsync().ConfigureAwait(false);
        }

        _registrations.Complete();
        _stopping.Dispose();
    }

    private async Task StopLoopsAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    /// <summary>
    /// Hears at once of joins, leaves and released leases anywhere in the cluster when storage can tell
    /// (<see cref="IRunnerStorageNotifications"/>); without it, or if subscribing fails, the periodic refreshes do the same, later.
    /// </summary>
    private async Task SubscribeToStorageChangesAsync(CancellationToken cancellationToken)
    {
        if (_storage is not IRunnerStorageNotifications notifications)
        {
            return;
        }

        var rebalancer = _rebalancer;
        var membership = _membership;
        try
        {
            using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time, cancellationToken);
            _notifications = await notifications.SubscribeAsync(change =>
            {
                if (change == RunnerStorageChange.Runners)
                {
                    membership.RequestSync();
                }
                else
                {
                    rebalancer?.OnShardsReleased();
                }
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StorageCalls.LogNotificationsUnavailable(_logger, ex);
        }
    }

    private async Task UnsubscribeFromStorageChangesAsync()
    {
        if (Interlocked.Exchange(ref _notifications, null) is { } notifications)
        {
            await notifications.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DisposeListenerAsync()
    {
        if (Interlocked.Exchange(ref _listener, null) is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
