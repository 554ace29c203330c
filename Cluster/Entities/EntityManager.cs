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
    private readonly ConcurrentDictionary<string, EntityInstance> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _stopping = new();
    private readonly TimeSpan _maxIdle;
    private readonly TimeSpan _terminationTimeout;
    private readonly ITimer _reaper;

    public EntityManager(EntityRegistration registration, RunnerAddress? runner, IServiceProvider services, int mailboxCapacity, TimeSpan maxIdle, TimeSpan terminationTimeout, ILogger logger, TimeProvider time)
    {
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

    /// <summary>Live instances.</summary>
    public int Count => _instances.Count;

    /// <summary>Queues <paramref name="work"/> for the entity, activating it if needed. Throws <see cref="Errors.MailboxFullException"/>.</summary>
    public void Deliver(EntityAddress address, EntityWork work)
    {
        while (true)
        {
            // GetOrAdd may build an instance that loses the race; that costs nothing, as the entity itself is
            // only created by EnsureActivated on the instance that is in the map.
            if (!_instances.TryGetValue(address.EntityId, out var instance))
            {
                instance = _instances.GetOrAdd(address.EntityId, static (_, state) => new EntityInstance(state.Manager, state.Address), (Manager: this, Address: address));
            }

            try
            {
                instance.EnsureActivated();
            }
            catch
            {
                _instances.TryRemove(new KeyValuePair<string, EntityInstance>(address.EntityId, instance));
                throw;
            }

            if (instance.TryEnqueue(work))
            {
                return;
            }

            // It is being passivated or stopped: forget it and activate a fresh one.
            _instances.TryRemove(new KeyValuePair<string, EntityInstance>(address.EntityId, instance));
        }
    }

    /// <summary>Messages queued or running for <paramref name="entityId"/> (0 when it is not alive here).</summary>
    public int Pending(string entityId) => _instances.TryGetValue(entityId, out var instance) ? instance.Pending : 0;

    /// <summary>True when an instance of <paramref name="entityId"/> is alive here.</summary>
    public bool IsActive(string entityId) => _instances.ContainsKey(entityId);

    /// <summary>Stops every instance on <paramref name="shard"/>, gracefully within the termination timeout.</summary>
    public Task StopShardAsync(ShardId shard) => StopWhereAsync(instance => instance.Address.ShardId == shard);

    /// <summary>Stops every instance, allowing each <paramref name="timeout"/> before it is interrupted.</summary>
    public Task StopAllAsync(TimeSpan timeout) => StopWhereAsync(_ => true, timeout);

    private Task StopWhereAsync(Func<EntityInstance, bool> predicate, TimeSpan? timeout = null)
    {
        var stops = new List<Task>();
        foreach (var (id, instance) in _instances)
        {
            if (predicate(instance) && _instances.TryRemove(new KeyValuePair<string, EntityInstance>(id, instance)))
            {
                stops.Add(instance.StopAsync(timeout ?? _terminationTimeout));
            }
        }

        return Task.WhenAll(stops);
    }

    private void Passivate()
    {
        foreach (var (id, instance) in _instances)
        {
            if (instance.IsIdle(_maxIdle) && _instances.TryRemove(new KeyValuePair<string, EntityInstance>(id, instance)))
            {
                var stop = instance.StopAsync(_terminationTimeout);
                _stopping.TryAdd(stop, 0);
                _ = stop.ContinueWith(t => _stopping.TryRemove(t, out _), TaskScheduler.Default);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reaper.DisposeAsync().ConfigureAwait(false);
        await StopWhereAsync(_ => true).ConfigureAwait(false);
        await Task.WhenAll(_stopping.Keys).ConfigureAwait(false);
    }
}
