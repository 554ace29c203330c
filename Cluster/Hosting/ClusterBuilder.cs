using SocketRunnerAspire.Cluster.Cron;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Collects the entity types, singleton jobs and cron schedules a process hosts (runners) or knows (clients).</summary>
public sealed class ClusterBuilder
{
    private readonly List<EntityRegistration> _entities = [];
    private readonly List<SingletonRegistration> _singletons = [];
    private readonly List<CronRegistration> _crons = [];
    private readonly List<WorkflowRegistration> _workflows = [];

    /// <summary>The registered entity types.</summary>
    public IReadOnlyList<EntityRegistration> Entities => _entities;

    /// <summary>The registered singleton jobs.</summary>
    public IReadOnlyList<SingletonRegistration> Singletons => _singletons;

    /// <summary>The registered cron schedules.</summary>
    public IReadOnlyList<CronRegistration> Crons => _crons;

    /// <summary>The registered workflows.</summary>
    public IReadOnlyList<WorkflowRegistration> Workflows => _workflows;

    /// <summary>
    /// Hosts the workflow <paramref name="workflow"/> on this runner with <paramref name="body"/> (Effect's
    /// <c>Workflow.toLayer</c>): executions run here when their shard is owned here. They live in the shard group
    /// <c>workflow</c>, which must be in <c>Cluster:AvailableShardGroups</c> on every node and in this runner's
    /// <c>Cluster:AssignedShardGroups</c>. The body is replayed on every resume; see <see cref="WorkflowContext"/>.
    /// </summary>
    public ClusterBuilder AddWorkflow<TPayload, TResult>(
        WorkflowDefinition<TPayload, TResult> workflow,
        Func<WorkflowContext, TPayload, CancellationToken, Task<TResult>> body,
        Action<WorkflowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        ArgumentNullException.ThrowIfNull(body);
        if (_workflows.Any(w => w.Name == workflow.Name))
        {
            throw new InvalidOperationException($"Workflow '{workflow.Name}' is registered twice.");
        }

        var options = new WorkflowOptions();
        configure?.Invoke(options);
        _workflows.Add(new WorkflowRegistration<TPayload, TResult>(workflow, body, options));
        return this;
    }

    /// <summary>
    /// Registers a singleton job: <paramref name="run"/> runs on exactly one runner of the cluster, the one holding the
    /// shard <paramref name="name"/> hashes to in <paramref name="shardGroup"/>; it is cancelled when that shard
    /// moves and started on its next owner, and restarted with back-off (1 s doubling to 1 min, each plus up to 25 % jitter) when it throws.
    /// </summary>
    public ClusterBuilder AddSingletonJob(string name, Func<SingletonContext, CancellationToken, Task> run, string shardGroup = ShardId.DefaultGroup)
    {
        if (_singletons.Any(s => s.Name == name) || (name.StartsWith("cron:", StringComparison.Ordinal) && _crons.Any(c => "cron:" + c.Name == name)))
        {
            throw new InvalidOperationException($"Singleton '{name}' is registered twice.");
        }

        _singletons.Add(new SingletonRegistration(name, run, shardGroup));
        return this;
    }

    /// <summary>
    /// Registers a cron schedule (5 fields, or 6 with seconds first): <paramref name="execute"/> runs once per tick
    /// cluster-wide, on the runner owning the schedule's entity; ticks are persisted messages delivered at their
    /// time, de-duplicated by tick time, so they survive runners going away. Requires MessageStorage.
    /// </summary>
    public ClusterBuilder AddCron(string name, string expression, Func<CronContext, CancellationToken, Task> execute, Action<ClusterCronOptions>? configure = null)
    {
        if (_crons.Any(c => c.Name == name))
        {
            throw new InvalidOperationException($"Cron '{name}' is registered twice.");
        }

        var options = new ClusterCronOptions();
        configure?.Invoke(options);
        _crons.Add(new CronRegistration(name, expression, execute, options));
        return this;
    }

    /// <summary>
    /// Registers the entity <typeparamref name="TContract"/>, implemented by <typeparamref name="TEntity"/>: one instance
    /// per entity id is created on its first message through <c>ActivatorUtilities</c> (its constructor takes services
    /// and, optionally, its <see cref="EntityContext"/>); <paramref name="configure"/> binds its RPCs and options. The wire
    /// name and shard group come from <typeparamref name="TContract"/>'s <see cref="EntityNameAttribute"/> (default: its
    /// class name). One call per entity type.
    /// </summary>
    public ClusterBuilder AddEntity<TContract, TEntity>(Action<EntityDefinition<TContract, TEntity>> configure)
        where TContract : class
        where TEntity : class =>
        AddEntity(EntityActivator.For<TEntity>(), configure);

    /// <summary>
    /// Registers the entity <typeparamref name="TContract"/>, implemented by <typeparamref name="TEntity"/>, whose instances
    /// <paramref name="factory"/> creates (one per entity id, on its first message).
    /// </summary>
    public ClusterBuilder AddEntity<TContract, TEntity>(Func<EntityContext, TEntity> factory, Action<EntityDefinition<TContract, TEntity>> configure)
        where TContract : class
        where TEntity : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(configure);
        var definition = new EntityDefinition<TContract, TEntity>(factory);
        configure(definition);
        return Add(definition);
    }

    /// <summary>Registers a definition built elsewhere (the workflow engine's entity types).</summary>
    internal ClusterBuilder Add(EntityRegistration definition)
    {
        if (_entities.Any(e => e.Name == definition.Name))
        {
            throw new InvalidOperationException($"Entity type '{definition.Name}' is registered twice.");
        }

        _entities.Add(definition);
        return this;
    }

    /// <summary>
    /// Registers <typeparamref name="TEntity"/>, which is both the contract (its name, and the type its messages name)
    /// and the implementation, created through <c>ActivatorUtilities</c>.
    /// </summary>
    public ClusterBuilder AddEntity<TEntity>(Action<EntityDefinition<TEntity, TEntity>> configure)
        where TEntity : class =>
        AddEntity<TEntity, TEntity>(configure);

    /// <summary>
    /// Registers <typeparamref name="TEntity"/>, which is both the contract and the implementation, created by
    /// <paramref name="factory"/>.
    /// </summary>
    public ClusterBuilder AddEntity<TEntity>(Func<EntityContext, TEntity> factory, Action<EntityDefinition<TEntity, TEntity>> configure)
        where TEntity : class =>
        AddEntity<TEntity, TEntity>(factory, configure);
}
