using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Cron;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster;

/// <summary>
/// One participant of the cluster (Effect's <c>Sharding</c>). As a runner it registers in RunnerStorage,
/// computes the shard assignment from the healthy runners (the same on every node: there is no shard
/// manager), holds the leases of its shards and hosts their entities. Client-only (no runner address)
/// it only sends. Sends go to the entity's shard owner, locally or through the transport, retrying
/// while the shard has no owner or is moving.
/// </summary>
public sealed partial class Sharding : IEntityClient, IRunnerRpcHandler, IAsyncDisposable
{
    private static readonly ConcurrentDictionary<Sharding, byte> Live = new();
    private static readonly System.Diagnostics.Metrics.ObservableGauge<int> ShardsOwnedGauge =
        ClusterDiagnostics.Meter.CreateObservableGauge("cluster.shards.owned",
            () => Live.Keys.Where(s => s.Address is not null)
                .Select(s => new System.Diagnostics.Metrics.Measurement<int>(s.OwnedShards.Count, new KeyValuePair<string, object?>("cluster.runner", s.Address.ToString()))),
            description: "Shards whose lease this runner holds.");

    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly IRunnerTransport _transport;
    private readonly ClusterSerializer _serializer;
    private readonly IMessageStorage? _messages;
    private readonly ReplyPoller? _replyPoller;
    private SnowflakeGenerator _ids = new(Random.Shared.Next(1024));
    private string? _runnerName;
    private readonly ILogger _logger;
    private readonly Dictionary<string, EntityManager> _managers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EntityRegistration> _entityTypes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ShardId, ShardState> _shards = new();
    private readonly ConcurrentDictionary<ShardId, byte> _unreleased = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _syncWake = new(0);
    private readonly SemaphoreSlim _rebalanceWake = new(0);
    private readonly RunnerInfo? _self;
    private volatile IReadOnlyDictionary<ShardId, RunnerAddress> _assignment = new Dictionary<ShardId, RunnerAddress>();
    private volatile IReadOnlyList<RegisteredRunner> _runners = [];
    private string _runnerSetKey = string.Empty;
    private bool _registered;
    private volatile bool _shuttingDown;
    private IAsyncDisposable? _listener;
    private Task[] _loops = [];
    private long _nextRequestId;

    /// <summary>Creates a participant; call <see cref="StartAsync"/> to join the cluster.</summary>
    public Sharding(
        ShardingOptions options,
        IRunnerStorage storage,
        IRunnerTransport transport,
        IEnumerable<EntityRegistration> entities,
        ILoggerFactory? loggerFactory = null,
        IServiceProvider? services = null,
        ClusterSerializer? serializer = null,
        IMessageStorage? messageStorage = null,
        IEnumerable<SingletonRegistration>? singletons = null,
        IEnumerable<CronRegistration>? crons = null)
    {
        _options = options;
        _storage = storage;
        _transport = transport;
        _serializer = serializer ?? ClusterSerializer.Default;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<Sharding>();
        _messages = messageStorage;
        if (messageStorage is not null)
        {
            _replyPoller = new ReplyPoller(messageStorage, options.EntityReplyPollInterval, options.StorageTimeout, _logger);
        }
        Address = options.RunnerAddress?.ToRunnerAddress();
        _services = services ?? EmptyServiceProvider.Instance;
        _singletons.AddRange(singletons ?? []);
        if (crons?.ToDictionary(c => c.Name, StringComparer.Ordinal) is { Count: > 0 } schedules)
        {
            // A cron is an entity that runs the ticks plus a singleton that keeps the next tick scheduled.
            entities = entities.Append(CronEntity.Registration(this, schedules, _logger));
            _singletons.AddRange(schedules.Values.Select(cron =>
                new SingletonRegistration("cron:" + cron.Name, (_, ct) => KeepCronScheduledAsync(cron, ct), cron.Options.ShardGroup)));
        }

        entities = entities.ToArray();
        foreach (var entity in entities)
        {
            _entityTypes[entity.Name] = entity;
        }

        if (Address is { } address)
        {
            _self = new RunnerInfo(address, options.AssignedShardGroups.ToArray(), options.RunnerShardWeight);
            var entityLogger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<EntityManager>();
            foreach (var entity in entities)
            {
                _managers.Add(entity.Name, new EntityManager(entity, address, services ?? EmptyServiceProvider.Instance,
                    options.EntityMailboxCapacity, options.EntityMaxIdleTime, options.EntityTerminationTimeout, entityLogger));
            }
        }
    }

    /// <summary>This runner's advertised address; null for a client-only participant.</summary>
    public RunnerAddress? Address { get; }

    /// <summary>True when this participant only sends.</summary>
    public bool IsClientOnly => Address is null;

    /// <summary>The machine id RunnerStorage gave this runner (for Snowflake ids); null until registered.</summary>
    public long? MachineId { get; private set; }

    /// <summary>A new Snowflake id: unique in the cluster (its machine part is this runner's registration), increasing here.</summary>
    public long NewSnowflakeId() => _ids.Next();

    /// <summary>This runner's address as text for logs and spans, or <c>client</c> on a client-only node.</summary>
    private string RunnerName => _runnerName ??= Address?.ToString() ?? "client";

    /// <summary>Shards whose lease this runner holds (and whose entities it hosts).</summary>
    public IReadOnlyCollection<ShardId> OwnedShards => _shards.Where(s => s.Value.Owned).Select(s => s.Key).ToArray();

    /// <summary>The runners last read from storage, with health.</summary>
    public IReadOnlyList<RegisteredRunner> Runners => _runners;

    /// <summary>The shard of <paramref name="entityId"/> in <paramref name="group"/>.</summary>
    public ShardId GetShardId(string entityId, string group = ShardId.DefaultGroup) =>
        new(group, ShardingHash.ShardNumber(entityId, _options.ShardsPerGroup));

    /// <summary>The runner the current assignment gives <paramref name="shard"/> to, if any.</summary>
    public RunnerAddress? GetOwner(ShardId shard) => _assignment.TryGetValue(shard, out var owner) ? owner : null;

    /// <summary>A handle to the <typeparamref name="TEntity"/> with id <paramref name="entityId"/>.</summary>
    public EntityRef<TEntity> GetEntity<TEntity>(string entityId)
    {
        ArgumentException.ThrowIfNullOrEmpty(entityId);
        return new EntityRef<TEntity>(this,
            new EntityAddress(EntityNames.Of<TEntity>.Name, entityId, GetShardId(entityId, EntityNames.Of<TEntity>.ShardGroup)));
    }

    /// <summary>
    /// Where an entity lives: its shard (in the entity type's shard group when the type is registered here,
    /// else the default group) and the runner the current assignment gives that shard to.
    /// </summary>
    public EntityLocation Locate(string entityType, string entityId)
    {
        var group = _entityTypes.TryGetValue(entityType, out var registration) ? registration.ShardGroup : ShardId.DefaultGroup;
        var shard = GetShardId(entityId, group);
        return new EntityLocation(shard, GetOwner(shard));
    }

    /// <summary>How many shards the current assignment gives each runner.</summary>
    public IReadOnlyDictionary<RunnerAddress, int> AssignedShardCounts() =>
        _assignment.GroupBy(a => a.Value).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Registered in RunnerStorage and holding the lease of every shard assigned to it (runners); always false for clients.</summary>
    public bool HoldsAssignedShards =>
        Address is { } self && MachineId is not null && !_shuttingDown &&
        _assignment.Where(a => a.Value == self).All(a => IsOwned(a.Key)) && _assignment.Count > 0;

    /// <summary>Live entity instances of <paramref name="entityType"/> on this runner (diagnostics).</summary>
    public int ActiveEntities(string entityType) => _managers.TryGetValue(entityType, out var manager) ? manager.Count : 0;

    /// <summary>True when the entity is alive on this runner (diagnostics and tests).</summary>
    public bool IsActive(EntityAddress address) => _managers.TryGetValue(address.EntityType, out var manager) && manager.IsActive(address.EntityId);

    /// <summary>Joins the cluster: starts the runner server (runners), reads the runner list and starts the background loops.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Address is { } address)
        {
            var listen = _options.RunnerListenAddress?.ToRunnerAddress() ?? address;
            _listener = await _transport.ListenAsync(listen, this, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await SyncOnceAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogSyncFailed(_logger, ex);   // storage slow or down: the sync loop keeps trying
        }

        Live.TryAdd(this, 0);
        _loops = Address is null
            ? [Loop(SyncOnceAsync, _syncWake, _options.RefreshAssignmentsInterval)]
            :
            [
                Loop(SyncOnceAsync, _syncWake, _options.RefreshAssignmentsInterval),
                Loop(RebalanceOnceAsync, _rebalanceWake, Min(TimeSpan.FromSeconds(1), _options.RefreshAssignmentsInterval)),
                RefreshLeasesLoopAsync(),
                Loop(CheckRunnerHealthOnceAsync, new SemaphoreSlim(0), _options.RunnerHealthCheckInterval),
                .. _messages is null ? Array.Empty<Task>() : [Loop(ReadStorageOnceAsync, _storageWake, NextStorageReadWait)],
            ];
        WakeRebalance();
    }

    /// <summary>
    /// Leaves the cluster gracefully: unregisters, stops every entity within the termination timeout,
    /// releases all leases and stops serving.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_shuttingDown)
        {
            return;
        }

        _shuttingDown = true;
        if (Address is { } address && _options.PreemptiveShutdown)
        {
            await IgnoreStorageErrors(ct => _storage.UnregisterAsync(address, ct)).ConfigureAwait(false);
        }

        await StopLoopsAsync().ConfigureAwait(false);
        if (Address is { } self)
        {
            await Task.WhenAll(_shards.Where(s => s.Value.Owned).Select(s => StopShardEntitiesAsync(s.Key))).ConfigureAwait(false);
            await StopSingletonsAsync(null, _options.EntityTerminationTimeout).ConfigureAwait(false);
            await IgnoreStorageErrors(ct => _storage.ReleaseAllAsync(self, ct)).ConfigureAwait(false);
            if (!_options.PreemptiveShutdown)
            {
                await IgnoreStorageErrors(ct => _storage.UnregisterAsync(self, ct)).ConfigureAwait(false);
            }
        }

        await DisposeListenerAsync().ConfigureAwait(false);
        Live.TryRemove(this, out _);
    }

    /// <summary>
    /// Simulates a crash (tests): stops serving and all background work at once, without unregistering
    /// or releasing leases, so other runners take its shards only after the leases expire.
    /// </summary>
    internal async Task CrashAsync()
    {
        _shuttingDown = true;
        foreach (var state in _shards.Values)
        {
            lock (state)
            {
                state.Owned = false;
            }
        }

        // A killed process finishes nothing: queued messages are dropped and running handlers interrupted
        // before anything else (closing connections first would let queued messages run meanwhile).
        await StopSingletonsAsync(null, TimeSpan.Zero).ConfigureAwait(false);
        await Task.WhenAll(_managers.Values.Select(manager => manager.StopAllAsync(TimeSpan.Zero))).ConfigureAwait(false);
        await DisposeListenerAsync().ConfigureAwait(false);
        await StopLoopsAsync().ConfigureAwait(false);
        foreach (var manager in _managers.Values)
        {
            await manager.DisposeAsync().ConfigureAwait(false);
        }

        Live.TryRemove(this, out _);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        foreach (var manager in _managers.Values)
        {
            await manager.DisposeAsync().ConfigureAwait(false);
        }

        if (_replyPoller is not null)
        {
            await _replyPoller.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    // ---- Sending -------------------------------------------------------------------------------

    internal async Task<TReply> SendAsync<TReply>(EntityAddress address, RpcKind kind, object request, CancellationToken cancellationToken)
    {
        var traits = MessageTraits.Of(request.GetType());
        var tag = traits.Tag;
        using var activity = StartSendActivity(address, tag);
        var started = Stopwatch.GetTimestamp();
        var deadline = SendDeadline();
        byte[]? envelope = null;
        Exception? last = null;
        try
        {
            if (traits.Persisted)
            {
                return await SendPersistedAsync<TReply>(address, kind, traits, request, cancellationToken).ConfigureAwait(false);
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_managers.TryGetValue(address.EntityType, out var manager) && IsOwned(address.ShardId))
                {
                    activity?.SetTag(ClusterDiagnostics.TargetRunnerTag, RunnerName);
                    try
                    {
                        return await SendLocalAsync<TReply>(manager, address, kind, tag, request, cancellationToken).ConfigureAwait(false);
                    }
                    catch (EntityNotAssignedToRunnerException ex)
                    {
                        last = ex;
                    }
                }
                else if (GetOwner(address.ShardId) is { } owner && owner != Address)
                {
                    envelope ??= EncodeEnvelope(address, tag, kind, _serializer.SerializeObject(request));
                    activity?.SetTag(ClusterDiagnostics.TargetRunnerTag, owner.ToString());
                    try
                    {
                        var reply = await _transport.RequestAsync(owner, envelope, persisted: false, cancellationToken).ConfigureAwait(false);
                        return kind == RpcKind.Tell ? default! : _serializer.Deserialize<TReply>(reply);
                    }
                    catch (EntityNotAssignedToRunnerException ex)
                    {
                        last = ex;
                    }
                    catch (RunnerUnavailableException ex)
                    {
                        // The transport already reconnects (with back-off) on the next call; dropping its
                        // connection state here would reset that back-off on every retry.
                        last = ex;
                        WakeSync();
                    }
                }
                else
                {
                    last ??= new EntityNotAssignedToRunnerException(address);
                }

                if (NoTimeForAnotherTry(deadline))
                {
                    throw last;
                }

                await Task.Delay(_options.SendRetryInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            ClusterDiagnostics.MessagesFailed.Add(1);
            throw;
        }
        finally
        {
            ClusterDiagnostics.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>(ClusterDiagnostics.EntityTypeTag, address.EntityType),
                new KeyValuePair<string, object?>(ClusterDiagnostics.RpcTag, tag));
        }
    }

    internal async IAsyncEnumerable<TItem> StreamAsync<TItem>(EntityAddress address, object request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var traits = MessageTraits.Of(request.GetType());
        var tag = traits.Tag;
        using var activity = StartSendActivity(address, tag);
        if (traits.Persisted)
        {
            await foreach (var item in StreamPersistedAsync<TItem>(address, traits, request, cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }

            yield break;
        }

        var deadline = SendDeadline();
        while (true)
        {
            // Find the owner; once the first item arrives the stream is not retried.
            IAsyncEnumerator<TItem>? items = null;
            Exception? retriable = null;
            try
            {
                items = OpenStream<TItem>(address, tag, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
                if (!await items.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is EntityNotAssignedToRunnerException or RunnerUnavailableException)
            {
                retriable = ex;
            }

            if (retriable is not null)
            {
                if (items is not null)
                {
                    await items.DisposeAsync().ConfigureAwait(false);
                }

                if (NoTimeForAnotherTry(deadline))
                {
                    throw retriable;
                }

                await Task.Delay(_options.SendRetryInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using (items!.ConfigureAwait(false))
            {
                do
                {
                    yield return items!.Current;
                }
                while (await items!.MoveNextAsync().ConfigureAwait(false));
            }

            yield break;
        }
    }

    private async IAsyncEnumerable<TItem> OpenStream<TItem>(EntityAddress address, string tag, object request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_managers.TryGetValue(address.EntityType, out var manager) && IsOwned(address.ShardId))
        {
            var rpc = ResolveRpc(manager, tag, RpcKind.Stream);
            var message = LocalMessage(rpc, request);
            var work = new EntityWork(rpc, message, Activity.Current?.Context ?? default, cancellationToken);
            DeliverToOwnedShard(manager, address, work);
            await foreach (var item in work.Stream!.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return _options.SimulateRemoteSerialization ? _serializer.Deserialize<TItem>(rpc.SerializeReply(_serializer, item)) : (TItem)item!;
            }

            yield break;
        }

        if (GetOwner(address.ShardId) is not { } owner || owner == Address)
        {
            throw new EntityNotAssignedToRunnerException(address);
        }

        var envelope = EncodeEnvelope(address, tag, RpcKind.Stream, _serializer.SerializeObject(request));
        await foreach (var item in _transport.StreamAsync(owner, envelope, persisted: false, cancellationToken).ConfigureAwait(false))
        {
            yield return _serializer.Deserialize<TItem>(item);
        }
    }

    private async Task<TReply> SendLocalAsync<TReply>(EntityManager manager, EntityAddress address, RpcKind kind, string tag, object request, CancellationToken cancellationToken)
    {
        var rpc = ResolveRpc(manager, tag, kind);
        var message = LocalMessage(rpc, request);
        var work = new EntityWork(rpc, message, Activity.Current?.Context ?? default, cancellationToken);
        DeliverToOwnedShard(manager, address, work);
        if (kind == RpcKind.Tell)
        {
            return default!;
        }

        var reply = await work.Reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _options.SimulateRemoteSerialization
            ? _serializer.Deserialize<TReply>(rpc.SerializeReply(_serializer, reply))
            : (TReply)reply!;
    }

    /// <summary>The message a local entity receives: a serialization round-trip of it when simulating a remote send.</summary>
    private object LocalMessage(RpcBinding rpc, object request) =>
        _options.SimulateRemoteSerialization ? rpc.DeserializeRequest(_serializer, _serializer.SerializeObject(request)) : request;

    private long SendDeadline() => Stopwatch.GetTimestamp() + (long)(_options.SendTimeout.TotalSeconds * Stopwatch.Frequency);

    private bool NoTimeForAnotherTry(long deadline) =>
        Stopwatch.GetTimestamp() + (long)(_options.SendRetryInterval.TotalSeconds * Stopwatch.Frequency) > deadline;

    private byte[] EncodeEnvelope(EntityAddress address, string tag, RpcKind kind, byte[] payload)
    {
        var current = Activity.Current;
        return EnvelopeCodec.Encode(new Envelope(
            Interlocked.Increment(ref _nextRequestId), address, tag, kind, payload, current?.Id, current?.TraceStateString));
    }

    private Activity? StartSendActivity(EntityAddress address, string tag)
    {
        var activity = ClusterDiagnostics.ActivitySource.StartActivity($"send {address.EntityType}.{tag}", ActivityKind.Client);
        if (activity is not null)
        {
            ClusterDiagnostics.TagEntityCall(activity, address, tag, RunnerName);
        }

        return activity;
    }

    // ---- Receiving (runner protocol) -----------------------------------------------------------

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
    {
        if (persisted)
        {
            RequirePersistence();
            return await HandlePersistedRequestAsync(RequireRightShard(DecodeEnvelope(envelope, expectStream: false)), cancellationToken).ConfigureAwait(false);
        }

        var (rpc, work) = Receive(envelope, expectStream: false, cancellationToken);
        if (rpc.Kind == RpcKind.Tell)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        // The caller's cancellation interrupts the handler (or skips the queued message), which completes Reply.
        var reply = await work.Reply.Task.ConfigureAwait(false);
        return rpc.SerializeReply(_serializer, reply);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (persisted)
        {
            RequirePersistence();
            await foreach (var chunk in HandlePersistedStreamAsync(RequireRightShard(DecodeEnvelope(envelope, expectStream: true)), cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }

            yield break;
        }

        var (rpc, work) = Receive(envelope, expectStream: true, cancellationToken);
        await foreach (var item in work.Stream!.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return rpc.SerializeReply(_serializer, item);
        }
    }

    /// <summary>Decodes a received envelope; a stream request must carry a Stream RPC and a request any other (a Stream RPC has no single reply).</summary>
    private static Envelope DecodeEnvelope(ReadOnlyMemory<byte> bytes, bool expectStream)
    {
        var envelope = EnvelopeCodec.Decode(bytes);
        if ((envelope.Kind == RpcKind.Stream) != expectStream)
        {
            throw new MalformedMessageException(expectStream
                ? $"A stream request carries a {envelope.Kind} envelope ({envelope.Address.EntityType}.{envelope.Tag})."
                : $"A request carries a Stream envelope ({envelope.Address.EntityType}.{envelope.Tag}); streams are sent as stream requests.");
        }

        return envelope;
    }

    /// <summary>
    /// A persisted envelope of a known entity type must name the entity's own shard, as a volatile one must: a forged
    /// or corrupted shard would otherwise activate the entity under a shard this runner may not even own.
    /// (An unknown type is left to the persisted path, which waits for its registration.)
    /// </summary>
    private Envelope RequireRightShard(Envelope envelope)
    {
        if (_managers.TryGetValue(envelope.Address.EntityType, out var manager))
        {
            RequireRightShard(envelope.Address, manager);
        }

        return envelope;
    }

    private void RequireRightShard(EntityAddress address, EntityManager manager)
    {
        if (address.ShardId != GetShardId(address.EntityId, manager.Registration.ShardGroup))
        {
            throw new MalformedMessageException($"Envelope for {address} names the wrong shard.");
        }
    }

    private (RpcBinding Rpc, EntityWork Work) Receive(ReadOnlyMemory<byte> bytes, bool expectStream, CancellationToken cancellationToken)
    {
        var envelope = DecodeEnvelope(bytes, expectStream);
        var address = envelope.Address;
        if (!_managers.TryGetValue(address.EntityType, out var manager))
        {
            throw new UnknownEntityTypeException($"Entity type '{address.EntityType}' is not registered on runner {Address}.");
        }

        RequireRightShard(address, manager);

        var rpc = ResolveRpc(manager, envelope.Tag, expectStream ? RpcKind.Stream : envelope.Kind);
        var message = rpc.DeserializeRequest(_serializer, envelope.Payload);
        var parent = ActivityContext.TryParse(envelope.TraceParent, envelope.TraceState, isRemote: true, out var context) ? context : default;
        var work = new EntityWork(rpc, message, parent, cancellationToken, replyInline: !expectStream);
        DeliverToOwnedShard(manager, address, work);
        return (rpc, work);
    }

    private static RpcBinding ResolveRpc(EntityManager manager, string tag, RpcKind kind)
    {
        if (!manager.Registration.TryGetRpc(tag, out var rpc))
        {
            throw new UnknownEntityTypeException($"Entity type '{manager.Registration.Name}' has no RPC '{tag}'.");
        }

        if (rpc.Kind != kind)
        {
            throw new UnknownEntityTypeException($"RPC '{manager.Registration.Name}.{tag}' is a {rpc.Kind} RPC, not {kind}.");
        }

        return rpc;
    }

    /// <summary>Delivers under the shard's lock, so an entity is never activated on a shard being released.</summary>
    private void DeliverToOwnedShard(EntityManager manager, EntityAddress address, EntityWork work)
    {
        var state = _shards.GetOrAdd(address.ShardId, static _ => new ShardState());
        lock (state)
        {
            if (!state.Owned || _shuttingDown)
            {
                throw new EntityNotAssignedToRunnerException(address);
            }

            manager.Deliver(address, work);
        }
    }

    private bool IsOwned(ShardId shard) => _shards.TryGetValue(shard, out var state) && state.Owned;

    // ---- Background loops ----------------------------------------------------------------------

    private async Task SyncOnceAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.StorageTimeout);
        var ct = timeout.Token;

        if (_self is not null && !_shuttingDown && !_registered)
        {
            MachineId = await _storage.RegisterAsync(_self, healthy: true, ct).ConfigureAwait(false);
            _ids = new SnowflakeGenerator(MachineId.Value);
            _registered = true;
            LogRegistered(_logger, _self.Address.ToString(), MachineId.Value);
        }

        var runners = await _storage.GetRunnersAsync(ct).ConfigureAwait(false);
        if (_self is not null && !_shuttingDown && !runners.Any(r => r.Runner.Address == _self.Address))
        {
            // Our registration expired (e.g. storage was unreachable for longer than a lease): register again.
            MachineId = await _storage.RegisterAsync(_self, healthy: true, ct).ConfigureAwait(false);
            runners = await _storage.GetRunnersAsync(ct).ConfigureAwait(false);
        }

        _runners = runners;
        var healthy = runners.Where(r => r.Healthy).Select(r => r.Runner).OrderBy(r => r.Address.ToString(), StringComparer.Ordinal).ToArray();
        var key = string.Join('|', healthy.Select(r => $"{r.Address}/{r.Weight}/{string.Join(',', r.Groups)}"));
        if (key != _runnerSetKey)
        {
            var previous = _assignment.Values.ToHashSet();
            _assignment = ComputeAssignment(healthy);
            _runnerSetKey = key;
            foreach (var gone in previous.Except(healthy.Select(r => r.Address)))
            {
                _transport.OnRunnerUnavailable(gone);
            }

            LogAssignmentChanged(_logger, RunnerName, healthy.Length, _assignment.Count(a => a.Value == Address));
            WakeRebalance();
        }

        if (_self is not null && healthy.Length == 0 && runners.Count > 0 && !_shuttingDown)
        {
            // Nobody is healthy: mark ourselves healthy so the cluster cannot deadlock (as Effect does).
            await _storage.SetRunnerHealthAsync(_self.Address, true, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runner health by ping (Effect's RunnerHealth.layerPing, run by one runner: the owner of shard
    /// <c>default:1</c>). A runner that answers no ping is marked unhealthy, which drops it from everyone's
    /// ring; one that answers again is marked healthy. Never leaves fewer than one healthy runner.
    /// </summary>
    private async Task CheckRunnerHealthOnceAsync()
    {
        if (_self is null || _shuttingDown || !IsOwned(new ShardId(_options.AvailableShardGroups[0], 1)))
        {
            return;
        }

        var runners = _runners.Where(r => r.Runner.Address != _self.Address).ToArray();
        var alive = await Task.WhenAll(runners.Select(r => IsAliveAsync(r.Runner.Address))).ConfigureAwait(false);
        var healthyCount = _runners.Count(r => r.Healthy);
        for (var i = 0; i < runners.Length; i++)
        {
            var (runner, healthy) = (runners[i].Runner.Address, runners[i].Healthy);
            if (alive[i] != healthy && (alive[i] || healthyCount > 1))
            {
                healthyCount += alive[i] ? 1 : -1;
                LogRunnerHealth(_logger, runner.ToString(), alive[i]);
                await IgnoreStorageErrors(ct => _storage.SetRunnerHealthAsync(runner, alive[i], ct)).ConfigureAwait(false);
                WakeSync();
            }
        }
    }

    private async Task<bool> IsAliveAsync(RunnerAddress runner)
    {
        const int attempts = 5;
        for (var attempt = 1; attempt <= attempts && !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(_options.PingTimeout);
                await _transport.PingAsync(runner, timeout.Token).ConfigureAwait(false);
                return true;
            }
            catch (ClusterAuthenticationException ex)
            {
                // It answered the handshake, so it is alive; the secrets differ, which is a configuration error
                // that must not make this node mark every healthy runner unhealthy.
                _logger.LogError("Health check of runner {Runner}: {Reason}", runner.ToString(), ex.Message);
                return true;
            }
            catch (Exception) when (attempt < attempts)
            {
                await Task.Delay(_options.PingRetryInterval, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                _transport.OnRunnerUnavailable(runner);
            }
        }

        return false;
    }

    private Dictionary<ShardId, RunnerAddress> ComputeAssignment(IReadOnlyList<RunnerInfo> healthy)
    {
        var assignment = new Dictionary<ShardId, RunnerAddress>();
        foreach (var group in _options.AvailableShardGroups)
        {
            var ring = new HashRing();
            var byKey = new Dictionary<string, RunnerAddress>(StringComparer.Ordinal);
            foreach (var runner in healthy.Where(r => r.Groups.Contains(group)))
            {
                var key = runner.Address.ToString();
                byKey[key] = runner.Address;
                ring.Add(key, runner.Weight);
            }

            if (ring.GetShards(_options.ShardsPerGroup) is { } shards)
            {
                for (var i = 0; i < shards.Length; i++)
                {
                    assignment[new ShardId(group, i + 1)] = byKey[shards[i]];
                }
            }
        }

        return assignment;
    }

    private async Task RebalanceOnceAsync()
    {
        if (_self is null || _shuttingDown)
        {
            return;
        }

        var assignment = _assignment;
        var mine = assignment.Where(a => a.Value == _self.Address).Select(a => a.Key).ToHashSet();

        var leaving = _shards.Where(s => s.Value.Owned && !mine.Contains(s.Key)).Select(s => s.Key).ToArray();
        if (leaving.Length > 0)
        {
            await Task.WhenAll(leaving.Select(async shard =>
            {
                await StopShardEntitiesAsync(shard).ConfigureAwait(false);
                _unreleased.TryAdd(shard, 0);
            })).ConfigureAwait(false);
            LogReleased(_logger, RunnerName, leaving.Length, OwnedShards.Count);
        }

        // Release leases of shards we stopped hosting; a failed release is retried on the next pass (as
        // Effect retries it until it succeeds) instead of leaving the new owner waiting for the expiry.
        await Task.WhenAll(_unreleased.Keys.Where(shard => !mine.Contains(shard)).Select(async shard =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(_options.StorageTimeout);
                await _storage.ReleaseAsync(_self.Address, shard, timeout.Token).ConfigureAwait(false);
                _unreleased.TryRemove(shard, out _);
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                LogStorageIgnored(_logger, ex);
            }
        })).ConfigureAwait(false);
        foreach (var shard in _unreleased.Keys.Where(mine.Contains))
        {
            _unreleased.TryRemove(shard, out _);   // assigned back to us: the lease is ours to keep
        }

        var wanted = mine.Where(shard => !IsOwned(shard)).OrderBy(s => s.Group, StringComparer.Ordinal).ThenBy(s => s.Id).ToArray();
        if (wanted.Length == 0)
        {
            StartOwnedSingletons();
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.StorageTimeout);
        var acquired = await _storage.AcquireAsync(_self.Address, wanted, timeout.Token).ConfigureAwait(false);
        var current = _assignment;
        foreach (var shard in acquired)
        {
            if (current.TryGetValue(shard, out var owner) && owner == _self.Address)
            {
                var state = _shards.GetOrAdd(shard, static _ => new ShardState());
                lock (state)
                {
                    state.Owned = !_shuttingDown;
                }

                if (_messages is not null)
                {
                    // Persisted messages the previous owner had read are leased to it; end those leases first.
                    _needsReset.TryAdd(shard, 0);
                }
            }
            else
            {
                // The assignment moved while we were acquiring: give the lease back on the next pass
                // rather than make the new owner wait for it to expire.
                _unreleased.TryAdd(shard, 0);
                WakeRebalance();
            }
        }

        if (acquired.Count > 0)
        {
            LogAcquired(_logger, RunnerName, acquired.Count, wanted.Length, OwnedShards.Count);
            WakeStorageLoop();
        }

        StartOwnedSingletons();
    }

    private async Task RefreshLeasesLoopAsync()
    {
        await Task.Yield();
        var lastSuccess = Stopwatch.GetTimestamp();
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ShardLockRefreshInterval, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var owned = OwnedShards.ToArray();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(_options.StorageTimeout);
                var held = (await _storage.RefreshAsync(_self!.Address, owned, timeout.Token).ConfigureAwait(false)).ToHashSet();
                lastSuccess = Stopwatch.GetTimestamp();
                var lost = owned.Where(s => !held.Contains(s)).ToArray();
                if (lost.Length > 0)
                {
                    LogLeasesLost(_logger, lost.Length);
                    await Task.WhenAll(lost.Select(StopShardEntitiesAsync)).ConfigureAwait(false);
                    WakeRebalance();
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Fence: stop the entities before any lease can expire, or another runner could start
                // the same entity while this one still runs it.
                var sinceSuccess = Stopwatch.GetElapsedTime(lastSuccess);
                LogRefreshFailed(_logger, ex, sinceSuccess.TotalSeconds);
                if (sinceSuccess + _options.ShardLockRefreshInterval + _options.StorageTimeout >= _options.ShardLockExpiration)
                {
                    LogFenced(_logger, owned.Length);
                    await Task.WhenAll(owned.Select(StopShardEntitiesAsync)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Marks the shard not owned (new messages are rejected and retried by senders) and stops its entities.</summary>
    private Task StopShardEntitiesAsync(ShardId shard)
    {
        if (_shards.TryGetValue(shard, out var state))
        {
            lock (state)
            {
                state.Owned = false;
            }
        }

        return Task.WhenAll(_managers.Values.Select(manager => manager.StopShardAsync(shard))
            .Append(StopSingletonsAsync(shard, _options.EntityTerminationTimeout)));
    }

    private Task Loop(Func<Task> step, SemaphoreSlim wake, TimeSpan interval) => Loop(step, wake, () => interval);

    private Task Loop(Func<Task> step, SemaphoreSlim wake, Func<TimeSpan> interval) => Task.Run(async () =>
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await step().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                LogSyncFailed(_logger, ex);
            }

            try
            {
                await wake.WaitAsync(interval(), _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    });

    private void WakeSync() => Release(_syncWake);

    private void WakeRebalance() => Release(_rebalanceWake);

    private static void Release(SemaphoreSlim wake)
    {
        if (wake.CurrentCount == 0)
        {
            wake.Release();
        }
    }

    private async Task StopLoopsAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private async Task DisposeListenerAsync()
    {
        if (Interlocked.Exchange(ref _listener, null) is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task IgnoreStorageErrors(Func<CancellationToken, Task> operation)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.StorageTimeout);
            await operation(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogStorageIgnored(_logger, ex);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;


    private sealed class ShardState
    {
        public volatile bool Owned;
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();

        public object? GetService(Type serviceType) => null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runner {Address} is now marked {Healthy} (ping)")]
    private static partial void LogRunnerHealthCore(ILogger logger, string address, string healthy);

    private static void LogRunnerHealth(ILogger logger, string address, bool healthy) => LogRunnerHealthCore(logger, address, healthy ? "healthy" : "unhealthy");

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Address} registered with machine id {MachineId}")]
    private static partial void LogRegistered(ILogger logger, string address, long machineId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard assignment recomputed on {Runner}: {Runners} healthy runners, {Assigned} shards assigned to it")]
    private static partial void LogAssignmentChanged(ILogger logger, string runner, int runners, int assigned);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Runner} acquired {Acquired} of {Wanted} shard leases and now owns {Owned} shards")]
    private static partial void LogAcquired(ILogger logger, string runner, int acquired, int wanted, int owned);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Runner} released {Released} shards and now owns {Owned} shards")]
    private static partial void LogReleased(ILogger logger, string runner, int released, int owned);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost {Count} shard leases; their entities were stopped")]
    private static partial void LogLeasesLost(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing shard leases failed ({Seconds:0.0} s since the last success)")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard leases could not be refreshed in time; stopped the entities of {Count} shards before their leases can expire")]
    private static partial void LogFenced(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading runners from storage failed; retrying")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a storage error during shard release or shutdown (leases expire anyway)")]
    private static partial void LogStorageIgnored(ILogger logger, Exception exception);
}
