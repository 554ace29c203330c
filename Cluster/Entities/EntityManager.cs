using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Persistence;

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
    private readonly ConcurrentDictionary<ShardId, ConcurrentDictionary<string, EntityInstance>> _shards = new();
    private readonly ConcurrentDictionary<Task, byte> _stopping = new();
    private readonly TimeSpan _maxIdle;
    private readonly TimeSpan _terminationTimeout;
    private readonly ITimer _reaper;

    public EntityManager(EntityRegistration registration, RunnerAddress? runner, IServiceProvider services, int mailboxCapacity, TimeSpan maxIdle, TimeSpan terminationTimeout, ILogger logger, TimeProvider time, ResidentEntities? residents = null, KeepAliveMessages? keepAliveMessages = null)
    {
        Residents = residents;
        KeepAliveMessages = keepAliveMessages;
        Time = time;
        Registration = registration;
        Runner = runner;
        Services = services;
        MailboxCapacity = registration.MailboxCapacity ?? mailboxCapacity;
        _maxIdle = registration.MaxIdleTime ?? maxIdle;
        _terminationTimeout = terminationTimeout;
        Logger = logger;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_maxIdle.TotalMilliseconds / 4, 10, 5_000));
        _reaper = time.CreateTimer(static state => ((EntityManager)state!).Passivate(), this, period, period);
    }

    public EntityRegistration Registration { get; }

    // What every instance of the type shares, kept here so an instance does not carry copies.
    internal RunnerAddress? Runner { get; }

    internal IServiceProvider Services { get; }

    /// <summary>Unreplied requests an instance accepts (0 = unbounded).</summary>
    internal int MailboxCapacity { get; }

    internal ILogger Logger { get; }

    internal TimeProvider Time { get; }

    /// <summary>The runner's cap on live instances, shared by every type; null when unbounded.</summary>
    internal ResidentEntities? Residents { get; }

    /// <summary>Stores keep-alive messages; null without a MessageStorage (keep-alive is then an in-memory flag).</summary>
    internal KeepAliveMessages? KeepAliveMessages { get; }

    /// <summary>Live instances.</summary>
    public int Count => _shards.Values.Sum(instances => instances.Count);

    /// <summary>Queues <paramref name="work"/> for the entity, activating it if needed. Throws <see cref="Errors.MailboxFullException"/>.</summary>
    public void Deliver(EntityAddress address, EntityWork work)
    {
        var instances = InstancesOf(address.ShardId);
        while (true)
        {
            var instance = Activate(instances, address);
            if (instance.TryEnqueue(work))
            {
                return;
            }

            // It is being passivated or stopped: forget it and activate a fresh one.
            instances.TryRemove(new KeyValuePair<string, EntityInstance>(address.EntityId, instance));
        }
    }

    /// <summary>Parks the entity's delivered keep-alive message on its instance, activating it if needed.</summary>
    public KeepAliveLatch ParkKeepAlive(EntityAddress address)
    {
        var instances = InstancesOf(address.ShardId);
        while (true)
        {
            var instance = Activate(instances, address);
            if (instance.TryParkKeepAlive(out var latch))
            {
                return latch;
            }

            instances.TryRemove(new KeyValuePair<string, EntityInstance>(address.EntityId, instance));
        }
    }

    private ConcurrentDictionary<string, EntityInstance> InstancesOf(ShardId shard) =>
        _shards.TryGetValue(shard, out var instances)
            ? instances
            : _shards.GetOrAdd(shard, static _ => new ConcurrentDictionary<string, EntityInstance>(StringComparer.Ordinal));

    /// <summary>The entity's instance in <paramref name="instances"/>, created and activated if needed.</summary>
    private EntityInstance Activate(ConcurrentDictionary<string, EntityInstance> instances, EntityAddress address)
    {
        // GetOrAdd may build an instance that loses the race; that costs nothing, as the entity itself is
        // only created by EnsureActivated on the instance that is in the map.
        if (!instances.TryGetValue(address.EntityId, out var instance))
        {
            instance = Residents is null
                ? instances.GetOrAdd(address.EntityId, static (_, state) => new EntityInstance(state.Manager, state.Address), (Manager: this, Address: address))
                : AddResident(instances, address);
        }

        try
        {
            instance.EnsureActivated();
        }
        catch
        {
            instances.TryRemove(new KeyValuePair<string, EntityInstance>(address.EntityId, instance));
            Residents?.Remove(instance);
            throw;
        }

        return instance;
    }

    /// <summary>A new instance counted against the cap (making room, or throwing <see cref="Errors.EntityCapacityExceededException"/>), or the one that won the race to the map.</summary>
    private EntityInstance AddResident(ConcurrentDictionary<string, EntityInstance> instances, EntityAddress address)
    {
        var fresh = new EntityInstance(this, address);
        Residents!.Admit(fresh);
        var instance = instances.GetOrAdd(address.EntityId, fresh);
        if (!ReferenceEquals(instance, fresh))
        {
            Residents.Remove(fresh);
        }

        return instance;
    }

    /// <summary>Passivates <paramref name="instance"/> to make room under the cap (it was idle when chosen; a message that raced in is still handled by the graceful stop).</summary>
    internal void Evict(EntityInstance instance)
    {
        if (_shards.TryGetValue(instance.Address.ShardId, out var instances)
            && instances.TryRemove(new KeyValuePair<string, EntityInstance>(instance.Address.EntityId, instance)))
        {
            TrackStop(instance.StopAsync(_terminationTimeout));
        }
    }

    /// <summary>Messages queued or running for the entity at <paramref name="address"/> (0 when it is not alive here).</summary>
    public int Pending(EntityAddress address) =>
        _shards.TryGetValue(address.ShardId, out var instances) && instances.TryGetValue(address.EntityId, out var instance) ? instance.Pending : 0;

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

    private static void StopAll(ConcurrentDictionary<string, EntityInstance> instances, TimeSpan timeout, List<Task> stops)
    {
        foreach (var (id, instance) in instances)
        {
            if (instances.TryRemove(new KeyValuePair<string, EntityInstance>(id, instance)))
            {
                stops.Add(instance.StopAsync(timeout));
            }
        }
    }

    private void Passivate()
    {
        foreach (var instances in _shards.Values)
        {
            foreach (var (id, instance) in instances)
            {
                if (instance.IsIdle(_maxIdle) && instances.TryRemove(new KeyValuePair<string, EntityInstance>(id, instance)))
                {
                    TrackStop(instance.StopAsync(_terminationTimeout));
                }
            }
        }
    }

    /// <summary>Keeps a passivation's stop until it ends, so disposing the manager waits for it.</summary>
    private void TrackStop(Task stop)
    {
        if (stop.IsCompleted)
        {
            return;
        }

        _stopping.TryAdd(stop, 0);
        _ = stop.ContinueWith(t => _stopping.TryRemove(t, out _), TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        await _reaper.DisposeAsync().ConfigureAwait(false);
        await StopAllAsync(_terminationTimeout).ConfigureAwait(false);
        await Task.WhenAll(_stopping.Keys).ConfigureAwait(false);
    }
}
