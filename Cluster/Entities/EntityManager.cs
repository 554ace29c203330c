using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// The live instances of one entity type on one runner: activates an instance on its first message,
/// passivates instances idle longer than the max idle time, and stops a shard's instances when the
/// shard leaves.
/// </summary>
internal sealed class EntityManager : IAsyncDisposable
{
    // Live instances by shard, then entity id: a leaving shard's instances are found without visiting every other
    // shard's (with 100k live entities, scanning them all once per leaving shard took most of a rebalance).
    private readonly ConcurrentDictionary<ShardId, ConcurrentDictionary<string, Lazy<EntityInstance>>> _shards = new();
    private readonly ConcurrentDictionary<Task, byte> _stopping = new();
    private readonly RunnerAddress? _runner;
    private readonly IServiceProvider _services;
    private readonly int _capacity;
    private readonly TimeSpan _maxIdle;
    private readonly TimeSpan _terminationTimeout;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ITimer _reaper;

    public EntityManager(EntityRegistration registration, RunnerAddress? runner, IServiceProvider services, int mailboxCapacity, TimeSpan maxIdle, TimeSpan terminationTimeout, ILogger logger, TimeProvider time)
    {
        _time = time;
        Registration = registration;
        _runner = runner;
        _services = services;
        _capacity = registration.MailboxCapacity ?? mailboxCapacity;
        _maxIdle = registration.MaxIdleTime ?? maxIdle;
        _terminationTimeout = terminationTimeout;
        _logger = logger;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_maxIdle.TotalMilliseconds / 4, 10, 5_000));
        _reaper = time.CreateTimer(static state => ((EntityManager)state!).Passivate(), this, period, period);
    }

    public EntityRegistration Registration { get; }

    /// <summary>Live instances.</summary>
    public int Count => _shards.Values.Sum(instances => instances.Count);

    /// <summary>Queues <paramref name="work"/> for the entity, activating it if needed. Throws <see cref="Errors.MailboxFullException"/>.</summary>
    public void Deliver(EntityAddress address, EntityWork work)
    {
        var instances = _shards.GetOrAdd(address.ShardId, static _ => new ConcurrentDictionary<string, Lazy<EntityInstance>>(StringComparer.Ordinal));
        while (true)
        {
            var lazy = instances.GetOrAdd(address.EntityId, _ => new Lazy<EntityInstance>(
                () => new EntityInstance(Registration, address, _runner, _services, _capacity, _logger, _time)));
            EntityInstance instance;
            try
            {
                instance = lazy.Value;
            }
            catch
            {
                instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(address.EntityId, lazy));
                throw;
            }

            if (instance.TryEnqueue(work))
            {
                return;
            }

            // It is being passivated or stopped: forget it and activate a fresh one.
            instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(address.EntityId, lazy));
        }
    }

    /// <summary>Messages queued or running for the entity at <paramref name="address"/> (0 when it is not alive here).</summary>
    public int Pending(EntityAddress address) =>
        _shards.TryGetValue(address.ShardId, out var instances) && instances.TryGetValue(address.EntityId, out var lazy) && lazy.IsValueCreated ? lazy.Value.Pending : 0;

    /// <summary>True when an instance of the entity at <paramref name="address"/> is alive here.</summary>
    public bool IsActive(EntityAddress address) =>
        _shards.TryGetValue(address.ShardId, out var instances) && instances.ContainsKey(address.EntityId);

    /// <summary>Stops every instance on <paramref name="shard"/>, gracefully within the termination timeout.</summary>
    public Task StopShardAsync(ShardId shard)
    {
        if (!_shards.TryGetValue(shard, out var instances))
        {
            return Task.CompletedTask;
        }

        var stops = new List<Task>();
        StopAll(instances, _terminationTimeout, stops);
        return Task.WhenAll(stops);
    }

    /// <summary>Stops every instance, allowing each <paramref name="timeout"/> before it is interrupted.</summary>
    public Task StopAllAsync(TimeSpan timeout)
    {
        var stops = new List<Task>();
        foreach (var instances in _shards.Values)
        {
            StopAll(instances, timeout, stops);
        }

        return Task.WhenAll(stops);
    }

    private static void StopAll(ConcurrentDictionary<string, Lazy<EntityInstance>> instances, TimeSpan timeout, List<Task> stops)
    {
        foreach (var (id, lazy) in instances)
        {
            if (lazy.IsValueCreated && instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(id, lazy)))
            {
                stops.Add(lazy.Value.StopAsync(timeout));
            }
        }
    }

    private void Passivate()
    {
        foreach (var instances in _shards.Values)
        {
            foreach (var (id, lazy) in instances)
            {
                if (lazy.IsValueCreated && lazy.Value.IsIdle(_maxIdle) && instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(id, lazy)))
                {
                    var stop = lazy.Value.StopAsync(_terminationTimeout);
                    _stopping.TryAdd(stop, 0);
                    _ = stop.ContinueWith(t => _stopping.TryRemove(t, out _), TaskScheduler.Default);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reaper.DisposeAsync().ConfigureAwait(false);
        await StopAllAsync(_terminationTimeout).ConfigureAwait(false);
        await Task.WhenAll(_stopping.Keys).ConfigureAwait(false);
    }
}
