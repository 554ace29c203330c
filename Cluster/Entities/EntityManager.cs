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
    private readonly ConcurrentDictionary<string, Lazy<EntityInstance>> _instances = new(StringComparer.Ordinal);
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
    public int Count => _instances.Count;

    /// <summary>Queues <paramref name="work"/> for the entity, activating it if needed. Throws <see cref="Errors.MailboxFullException"/>.</summary>
    public void Deliver(EntityAddress address, EntityWork work)
    {
        while (true)
        {
            var lazy = _instances.GetOrAdd(address.EntityId, _ => new Lazy<EntityInstance>(
                () => new EntityInstance(Registration, address, _runner, _services, _capacity, _logger, _time)));
            EntityInstance instance;
            try
            {
                instance = lazy.Value;
            }
            catch
            {
                _instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(address.EntityId, lazy));
                throw;
            }

            if (instance.TryEnqueue(work))
            {
                return;
            }

            // It is being passivated or stopped: forget it and activate a fresh one.
            _instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(address.EntityId, lazy));
        }
    }

    /// <summary>Messages queued or running for <paramref name="entityId"/> (0 when it is not alive here).</summary>
    public int Pending(string entityId) =>
        _instances.TryGetValue(entityId, out var lazy) && lazy.IsValueCreated ? lazy.Value.Pending : 0;

    /// <summary>True when an instance of <paramref name="entityId"/> is alive here.</summary>
    public bool IsActive(string entityId) => _instances.ContainsKey(entityId);

    /// <summary>Stops every instance on <paramref name="shard"/>, gracefully within the termination timeout.</summary>
    public Task StopShardAsync(ShardId shard) => StopWhereAsync(instance => instance.Address.ShardId == shard);

    /// <summary>Stops every instance, allowing each <paramref name="timeout"/> before it is interrupted.</summary>
    public Task StopAllAsync(TimeSpan timeout) => StopWhereAsync(_ => true, timeout);

    private Task StopWhereAsync(Func<EntityInstance, bool> predicate, TimeSpan? timeout = null)
    {
        var stops = new List<Task>();
        foreach (var (id, lazy) in _instances)
        {
            if (lazy.IsValueCreated && predicate(lazy.Value) && _instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(id, lazy)))
            {
                stops.Add(lazy.Value.StopAsync(timeout ?? _terminationTimeout));
            }
        }

        return Task.WhenAll(stops);
    }

    private void Passivate()
    {
        foreach (var (id, lazy) in _instances)
        {
            if (lazy.IsValueCreated && lazy.Value.IsIdle(_maxIdle) && _instances.TryRemove(new KeyValuePair<string, Lazy<EntityInstance>>(id, lazy)))
            {
                var stop = lazy.Value.StopAsync(_terminationTimeout);
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
