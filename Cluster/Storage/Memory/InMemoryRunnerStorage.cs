using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage.Memory;

/// <summary>
/// RunnerStorage in process memory with the same semantics as the Redis one: machine ids, heartbeats,
/// leases with expiry. Shared by the runners of one process (tests, single-process clusters). Tells subscribers of every
/// change right after it (<see cref="IRunnerStorageNotifications"/>), on the thread that made it.
/// </summary>
public sealed class InMemoryRunnerStorage(TimeSpan leaseDuration, TimeProvider? timeProvider = null) : IRunnerStorage, IRunnerStorageNotifications
{
    private volatile Action<RunnerStorageChange>[] _subscribers = [];
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<RunnerAddress, Entry> _runners = [];
    private readonly Dictionary<RunnerAddress, long> _machineIds = [];
    private readonly Dictionary<ShardId, (RunnerAddress Owner, DateTimeOffset Expires)> _leases = [];
    private long _nextMachineId;

    /// <summary>When true every call throws <see cref="Errors.PersistenceException"/> (simulates an outage).</summary>
    public bool Unavailable { get; set; }

    /// <inheritdoc />
    public Task<long> RegisterAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken) => Run(() =>
    {
        if (!_machineIds.TryGetValue(runner.Address, out var id))
        {
            _machineIds[runner.Address] = id = ++_nextMachineId;
        }

        _runners[runner.Address] = new Entry(runner, healthy, Now);
        return id;
    }, RunnerStorageChange.Runners);

    /// <inheritdoc />
    public Task UnregisterAsync(RunnerAddress address, CancellationToken cancellationToken) => Run(() =>
    {
        _runners.Remove(address);
        foreach (var stale in _runners.Where(r => r.Value.Heartbeat < Now - leaseDuration).Select(r => r.Key).ToArray())
        {
            _runners.Remove(stale);
        }

        return 0;
    }, RunnerStorageChange.Runners);

    /// <inheritdoc />
    public Task<IReadOnlyList<RegisteredRunner>> GetRunnersAsync(CancellationToken cancellationToken) => Run<IReadOnlyList<RegisteredRunner>>(() =>
        _runners.Values.Where(r => r.Heartbeat >= Now - leaseDuration).Select(r => new RegisteredRunner(r.Runner, r.Healthy)).ToArray());

    /// <inheritdoc />
    public Task SetRunnerHealthAsync(RunnerAddress address, bool healthy, CancellationToken cancellationToken) => Run(() =>
    {
        if (_runners.TryGetValue(address, out var entry))
        {
            _runners[address] = entry with { Healthy = healthy };
        }

        return 0;
    }, RunnerStorageChange.Runners);

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> AcquireAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) => Run<IReadOnlyList<ShardId>>(() =>
    {
        var held = new List<ShardId>(shards.Count);
        foreach (var shard in shards)
        {
            if (!_leases.TryGetValue(shard, out var lease) || lease.Owner == address || lease.Expires <= Now)
            {
                _leases[shard] = (address, Now + leaseDuration);
                held.Add(shard);
            }
        }

        return held;
    });

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> RefreshAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) => Run<IReadOnlyList<ShardId>>(() =>
    {
        if (_runners.TryGetValue(address, out var entry))
        {
            _runners[address] = entry with { Heartbeat = Now };
        }

        var held = new List<ShardId>(shards.Count);
        foreach (var shard in shards)
        {
            if (_leases.TryGetValue(shard, out var lease) && lease.Owner == address && lease.Expires > Now)
            {
                _leases[shard] = (address, Now + leaseDuration);
                held.Add(shard);
            }
        }

        return held;
    });

    /// <inheritdoc />
    public Task ReleaseAsync(RunnerAddress address, ShardId shard, CancellationToken cancellationToken) => Run(() =>
    {
        if (_leases.TryGetValue(shard, out var lease) && lease.Owner == address)
        {
            _leases.Remove(shard);
        }

        return 0;
    }, RunnerStorageChange.ShardsReleased);

    /// <inheritdoc />
    public Task ReleaseAllAsync(RunnerAddress address, CancellationToken cancellationToken) => Run(() =>
    {
        foreach (var shard in _leases.Where(l => l.Value.Owner == address).Select(l => l.Key).ToArray())
        {
            _leases.Remove(shard);
        }

        return 0;
    }, RunnerStorageChange.ShardsReleased);

    /// <inheritdoc />
    public Task<IAsyncDisposable> SubscribeAsync(Action<RunnerStorageChange> onChange, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, onChange];
        }

        return Task.FromResult<IAsyncDisposable>(new Subscription(this, onChange));
    }

    /// <summary>The current owner of a shard's lease, if held and not expired (diagnostics and tests).</summary>
    public RunnerAddress? LeaseOwner(ShardId shard)
    {
        lock (_lock)
        {
            return _leases.TryGetValue(shard, out var lease) && lease.Expires > Now ? lease.Owner : null;
        }
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private Task<T> Run<T>(Func<T> operation)
    {
        if (Unavailable)
        {
            return Task.FromException<T>(new Errors.PersistenceException("In-memory runner storage is unavailable."));
        }

        lock (_lock)
        {
            return Task.FromResult(operation());
        }
    }

    private Task<T> Run<T>(Func<T> operation, RunnerStorageChange change)
    {
        var result = Run(operation);
        if (result.IsCompletedSuccessfully)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber(change);
            }
        }

        return result;
    }

    private void Unsubscribe(Action<RunnerStorageChange> onChange)
    {
        lock (_lock)
        {
            var index = Array.IndexOf(_subscribers, onChange);
            if (index >= 0)
            {
                _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
            }
        }
    }

    private sealed record Entry(RunnerInfo Runner, bool Healthy, DateTimeOffset Heartbeat);

    private sealed class Subscription(InMemoryRunnerStorage storage, Action<RunnerStorageChange> onChange) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                storage.Unsubscribe(onChange);
            }

            return ValueTask.CompletedTask;
        }
    }
}
