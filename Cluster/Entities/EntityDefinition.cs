using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Everything a runner needs to host one entity type: how to create an instance, its RPC handlers
/// and per-type options. Built in one place per entity type with <see cref="ClusterBuilder.AddEntity{TEntity}"/>.
/// </summary>
public sealed class EntityDefinition<TEntity> : EntityRegistration where TEntity : class
{
    internal EntityDefinition(Func<EntityContext, TEntity> factory)
        : base(EntityNames.Of<TEntity>.Name, EntityNames.Of<TEntity>.ShardGroup, typeof(TEntity), context => factory(context))
    {
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with one reply.</summary>
    public EntityDefinition<TEntity> On<TRequest, TReply>(Func<TEntity, TRequest, EntityContext, CancellationToken, ValueTask<TReply>> handler)
        where TRequest : IEntityRequest<TReply>
    {
        Add(new RequestBinding<TEntity, TRequest, TReply>(EntityNames.RpcTag(typeof(TRequest)), handler));
        return this;
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with a stream of replies.</summary>
    public EntityDefinition<TEntity> OnStream<TRequest, TItem>(Func<TEntity, TRequest, EntityContext, CancellationToken, IAsyncEnumerable<TItem>> handler)
        where TRequest : IEntityStreamRequest<TItem>
    {
        Add(new StreamBinding<TEntity, TRequest, TItem>(EntityNames.RpcTag(typeof(TRequest)), handler));
        return this;
    }

    /// <summary>Handles the fire-and-forget message <typeparamref name="TMessage"/>.</summary>
    public EntityDefinition<TEntity> OnTell<TMessage>(Func<TEntity, TMessage, EntityContext, CancellationToken, ValueTask> handler)
        where TMessage : IEntityMessage
    {
        Add(new TellBinding<TEntity, TMessage>(EntityNames.RpcTag(typeof(TMessage)), handler));
        return this;
    }

    /// <summary>How many messages one instance handles at once. Default 1 (sequential); 0 = unbounded.</summary>
    public EntityDefinition<TEntity> WithConcurrency(int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(concurrency);
        Concurrency = concurrency;
        return this;
    }

    /// <summary>Overrides <c>Cluster:EntityMailboxCapacity</c> for this type (0 = unbounded).</summary>
    public EntityDefinition<TEntity> WithMailboxCapacity(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        MailboxCapacity = capacity;
        return this;
    }

    /// <summary>Overrides <c>Cluster:EntityMaxIdleTime</c> for this type.</summary>
    public EntityDefinition<TEntity> WithMaxIdleTime(TimeSpan maxIdleTime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxIdleTime, TimeSpan.Zero);
        MaxIdleTime = maxIdleTime;
        return this;
    }
}
