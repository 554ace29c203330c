using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Shards;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// The entity types this node knows and, on a runner, their live instances (one <see cref="EntityManager"/> per type,
/// Effect's <c>EntityManager</c>s): resolves a message to its RPC, delivers it through the shard gate, and stops a
/// shard's entities when the shard leaves.
/// </summary>
internal sealed class EntityHost : IShardListener, IAsyncDisposable
{
    private readonly Dictionary<string, EntityRegistration> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EntityManager> _managers = new(StringComparer.Ordinal);
    private readonly ShardOwnership _ownership;
    private readonly int _shardsPerGroup;

    /// <remarks><c>self</c>: This runner; null on a client-only node, which hosts no instances.</remarks>
    public EntityHost(
        IEnumerable<EntityRegistration> registrations, RunnerAddress? self, ShardingOptions options, ShardOwnership ownership,
        IServiceProvider services, ILoggerFactory loggerFactory, TimeProvider time, KeepAliveMessages? keepAliveMessages = null)
    {
        _ownership = ownership;
        _shardsPerGroup = options.ShardsPerGroup;
        var logger = loggerFactory.CreateLogger<EntityManager>();
        Residents = self is not null && options.MaxResidentEntities > 0 ? new ResidentEntities(options.MaxResidentEntities) : null;
        foreach (var registration in registrations)
        {
            _types[registration.Name] = registration;
            if (self is { } runner)
            {
                _managers[registration.Name] = new EntityManager(registration, runner, services,
                    options.EntityMailboxCapacity, options.EntityMaxIdleTime, options.EntityTerminationTimeout, logger, time, Residents, keepAliveMessages);
            }
        }
    }

    /// <summary>The cap on live instances across every type (<c>Cluster:MaxResidentEntities</c>); null when unbounded.</summary>
    public ResidentEntities? Residents { get; }

    /// <summary>The shard group of <paramref name="entityType"/> if this node knows the type, else the default group.</summary>
    public string ShardGroupOf(string entityType) =>
        _types.TryGetValue(entityType, out var registration) ? registration.ShardGroup : ShardId.DefaultGroup;

    /// <summary>The instances of <paramref name="entityType"/> on this runner; false when it is not hosted here.</summary>
    public bool TryGetManager(string entityType, out EntityManager manager) => _managers.TryGetValue(entityType, out manager!);

    /// <summary>The manager of <paramref name="entityType"/>, or <see cref="EntityTypeNotRegisteredException"/>.</summary>
    public EntityManager RequireManager(string entityType, RunnerAddress? runner) =>
        _managers.TryGetValue(entityType, out var manager) ? manager : throw NotRegistered(entityType, runner);

    /// <summary>The error for a message to <paramref name="entityType"/> reaching a runner that does not host it.</summary>
    public static EntityTypeNotRegisteredException NotRegistered(string entityType, RunnerAddress? runner) =>
        new(entityType, $"Entity type '{entityType}' is not registered on runner {runner}.");

    /// <summary>A received <paramref name="address"/> must name its entity's own shard; a forged one would run the entity on a shard this runner may not own.</summary>
    public void RequireRightShard(EntityAddress address, EntityManager manager)
    {
        if (address.ShardId != ShardingHash.ShardOf(address.EntityId, manager.Registration.ShardGroup, _shardsPerGroup))
        {
            throw new MalformedMessageException($"Envelope for {address} names the wrong shard.");
        }
    }

    /// <summary>The RPC <paramref name="tag"/> of the manager's type, which must be of <paramref name="kind"/>.</summary>
    public static RpcBinding ResolveRpc(EntityManager manager, string tag, RpcKind kind)
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

    /// <summary>Queues <paramref name="work"/> for its entity if the shard is owned here (an entity is never activated on a shard being released).</summary>
    public void Deliver(EntityManager manager, EntityAddress address, EntityWork work) =>
        _ownership.Admit(address, (manager, work), static (address, state) => state.manager.Deliver(address, state.work));

    /// <summary>Parks the entity's delivered keep-alive message on its instance if the shard is owned here (activating it if needed).</summary>
    public KeepAliveLatch ParkKeepAlive(EntityManager manager, EntityAddress address)
    {
        var parked = new StrongBox<KeepAliveLatch>();
        _ownership.Admit(address, (manager, parked), static (address, state) => state.parked.Value = state.manager.ParkKeepAlive(address));
        return parked.Value!;
    }

    public int ActiveEntities(string entityType) => _managers.TryGetValue(entityType, out var manager) ? manager.Count : 0;

    public int Pending(EntityAddress address) => _managers.TryGetValue(address.EntityType, out var manager) ? manager.Pending(address) : 0;

    public bool IsActive(EntityAddress address) => _managers.TryGetValue(address.EntityType, out var manager) && manager.IsActive(address);

    /// <summary>Stops every instance, allowing each <paramref name="timeout"/> before it is interrupted (a crash passes zero).</summary>
    public Task StopAllAsync(TimeSpan timeout) => Task.WhenAll(_managers.Values.Select(manager => manager.StopAllAsync(timeout)));

    void IShardListener.OnShardsAcquired(IReadOnlyCollection<ShardId> shards)
    {
    }

    Task IShardListener.OnShardReleasingAsync(ShardId shard) => Task.WhenAll(_managers.Values.Select(manager => manager.StopShardAsync(shard)));

    public async ValueTask DisposeAsync()
    {
        foreach (var manager in _managers.Values)
        {
            await manager.DisposeAsync().ConfigureAwait(false);
        }
    }
}
