using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>What an entity instance knows about itself; passed to its factory and every handler.</summary>
public sealed class EntityContext
{
    private readonly EntityInstance _instance;
    private volatile bool _keepAlive;

    internal EntityContext(EntityAddress address, RunnerAddress? runner, IServiceProvider services, EntityInstance instance)
    {
        Address = address;
        Runner = runner;
        Services = services;
        _instance = instance;
    }

    /// <summary>The entity's type, id and shard.</summary>
    public EntityAddress Address { get; }

    /// <summary>The runner hosting this instance.</summary>
    public RunnerAddress? Runner { get; }

    /// <summary>Services of the hosting process.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Cancelled when the instance is being stopped (passivation, shard move, shutdown).</summary>
    public CancellationToken Stopping => _instance.StoppingToken;

    /// <summary>While true the entity is not passivated when idle (Effect's <c>Entity.keepAlive</c>).</summary>
    public bool KeepAlive
    {
        get => _keepAlive;
        set => _keepAlive = value;
    }
}
