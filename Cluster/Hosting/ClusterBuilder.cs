using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster;

/// <summary>Collects the entity types a process hosts (runners) or knows (clients).</summary>
public sealed class ClusterBuilder
{
    private readonly List<EntityRegistration> _entities = [];

    /// <summary>The registered entity types.</summary>
    public IReadOnlyList<EntityRegistration> Entities => _entities;

    /// <summary>
    /// Registers <typeparamref name="TEntity"/>: <paramref name="factory"/> creates one instance per entity id
    /// on its first message, <paramref name="configure"/> binds its RPCs and options. One call per entity type.
    /// </summary>
    public ClusterBuilder AddEntity<TEntity>(Func<EntityContext, TEntity> factory, Action<EntityDefinition<TEntity>> configure)
        where TEntity : class
    {
        var definition = new EntityDefinition<TEntity>(factory);
        configure(definition);
        if (_entities.Any(e => e.Name == definition.Name))
        {
            throw new InvalidOperationException($"Entity type '{definition.Name}' is registered twice.");
        }

        _entities.Add(definition);
        return this;
    }
}
