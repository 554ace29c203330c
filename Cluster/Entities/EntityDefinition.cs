using System.Reflection;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Everything a runner needs to host one entity type: how to create an instance, its RPC handlers and per-type
/// options. <typeparamref name="TContract"/> is the entity as senders see it (its wire name and shard group come
/// from its <see cref="EntityNameAttribute"/>, its messages implement <see cref="IEntityRequest{TEntity, TReply}"/>
/// and friends with it); <typeparamref name="TEntity"/> is the class that handles them (the same type when the entity
/// has no separate contract). Built in one place per entity type with
/// <see cref="ClusterBuilder.AddEntity{TContract, TEntity}(Action{EntityDefinition{TContract, TEntity}})"/>.
/// Each binding method takes a handler of <c>(entity, message)</c>, <c>(entity, message, cancellationToken)</c> or
/// <c>(entity, message, context, cancellationToken)</c>, and compiles only for messages of <typeparamref name="TContract"/>.
/// </summary>
public sealed class EntityDefinition<TContract, TEntity> : EntityRegistration
    where TContract : class
    where TEntity : class
{
    internal EntityDefinition(Func<EntityContext, TEntity> factory)
        : this(EntityNames.Of<TContract>.Name, EntityNames.Of<TContract>.ShardGroup, factory)
    {
    }

    /// <summary>An entity type whose wire name is not its contract's (one CLR type hosting several types, as workflows do).</summary>
    internal EntityDefinition(string name, string shardGroup, Func<EntityContext, TEntity> factory)
        : base(name, shardGroup, typeof(TContract), typeof(TEntity), factory)
    {
        if (typeof(TContract) != typeof(TEntity) && typeof(TEntity).GetCustomAttribute<EntityNameAttribute>() is not null)
        {
            throw new InvalidOperationException(
                $"{typeof(TEntity).Name} implements the entity {typeof(TContract).Name} and must not carry [EntityName]: the wire name and shard group are stated once, on the contract {typeof(TContract).Name}.");
        }
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with one reply.</summary>
    public EntityDefinition<TContract, TEntity> On<TRequest, TReply>(Func<TEntity, TRequest, ValueTask<TReply>> handler)
        where TRequest : IEntityRequest<TContract, TReply>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return On<TRequest, TReply>((entity, request, _, _) => handler(entity, request));
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with one reply; the token is cancelled when the caller gives up or the entity stops.</summary>
    public EntityDefinition<TContract, TEntity> On<TRequest, TReply>(Func<TEntity, TRequest, CancellationToken, ValueTask<TReply>> handler)
        where TRequest : IEntityRequest<TContract, TReply>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return On<TRequest, TReply>((entity, request, _, cancellationToken) => handler(entity, request, cancellationToken));
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with one reply, with the instance's <see cref="EntityContext"/>.</summary>
    public EntityDefinition<TContract, TEntity> On<TRequest, TReply>(Func<TEntity, TRequest, EntityContext, CancellationToken, ValueTask<TReply>> handler)
        where TRequest : IEntityRequest<TContract, TReply>
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new RequestBinding<TEntity, TRequest, TReply>(EntityNames.RpcTag(typeof(TRequest)), handler));
        return this;
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with a stream of replies.</summary>
    public EntityDefinition<TContract, TEntity> OnStream<TRequest, TItem>(Func<TEntity, TRequest, IAsyncEnumerable<TItem>> handler)
        where TRequest : IEntityStreamRequest<TContract, TItem>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return OnStream<TRequest, TItem>((entity, request, _, _) => handler(entity, request));
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with a stream of replies; the token ends the stream.</summary>
    public EntityDefinition<TContract, TEntity> OnStream<TRequest, TItem>(Func<TEntity, TRequest, CancellationToken, IAsyncEnumerable<TItem>> handler)
        where TRequest : IEntityStreamRequest<TContract, TItem>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return OnStream<TRequest, TItem>((entity, request, _, cancellationToken) => handler(entity, request, cancellationToken));
    }

    /// <summary>Handles <typeparamref name="TRequest"/> with a stream of replies, with the instance's <see cref="EntityContext"/>.</summary>
    public EntityDefinition<TContract, TEntity> OnStream<TRequest, TItem>(Func<TEntity, TRequest, EntityContext, CancellationToken, IAsyncEnumerable<TItem>> handler)
        where TRequest : IEntityStreamRequest<TContract, TItem>
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new StreamBinding<TEntity, TRequest, TItem>(EntityNames.RpcTag(typeof(TRequest)), handler));
        return this;
    }

    /// <summary>
    /// Handles <typeparamref name="TRequest"/> with a stream of replies that can resume (Effect's <c>lastSentChunk</c>):
    /// when a persisted stream's runner stopped after some items were saved, the next owner calls the handler with the
    /// last saved item in <see cref="StreamResume{TItem}"/>, and it yields only the items after it (each one yielded is
    /// saved; none is skipped). Fresh and volatile streams get <see cref="StreamResume{TItem}.Start"/>. Handlers bound
    /// with the other <c>OnStream</c> overloads run again from the start instead, and the items already saved are skipped.
    /// </summary>
    public EntityDefinition<TContract, TEntity> OnStream<TRequest, TItem>(Func<TEntity, TRequest, StreamResume<TItem>, EntityContext, CancellationToken, IAsyncEnumerable<TItem>> handler)
        where TRequest : IEntityStreamRequest<TContract, TItem>
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new ResumableStreamBinding<TEntity, TRequest, TItem>(EntityNames.RpcTag(typeof(TRequest)), handler));
        return this;
    }

    /// <summary>Handles the fire-and-forget message <typeparamref name="TMessage"/>.</summary>
    public EntityDefinition<TContract, TEntity> OnTell<TMessage>(Func<TEntity, TMessage, ValueTask> handler)
        where TMessage : IEntityMessage<TContract>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return OnTell<TMessage>((entity, message, _, _) => handler(entity, message));
    }

    /// <summary>Handles the fire-and-forget message <typeparamref name="TMessage"/>; the token is cancelled when the entity stops.</summary>
    public EntityDefinition<TContract, TEntity> OnTell<TMessage>(Func<TEntity, TMessage, CancellationToken, ValueTask> handler)
        where TMessage : IEntityMessage<TContract>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return OnTell<TMessage>((entity, message, _, cancellationToken) => handler(entity, message, cancellationToken));
    }

    /// <summary>Handles the fire-and-forget message <typeparamref name="TMessage"/>, with the instance's <see cref="EntityContext"/>.</summary>
    public EntityDefinition<TContract, TEntity> OnTell<TMessage>(Func<TEntity, TMessage, EntityContext, CancellationToken, ValueTask> handler)
        where TMessage : IEntityMessage<TContract>
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new TellBinding<TEntity, TMessage>(EntityNames.RpcTag(typeof(TMessage)), handler));
        return this;
    }

    /// <summary>How many messages one instance handles at once. Default 1 (sequential); 0 = unbounded.</summary>
    public EntityDefinition<TContract, TEntity> WithConcurrency(int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(concurrency);
        Concurrency = concurrency;
        return this;
    }

    /// <summary>Overrides <c>Cluster:EntityMailboxCapacity</c> for this type (0 = unbounded).</summary>
    public EntityDefinition<TContract, TEntity> WithMailboxCapacity(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        MailboxCapacity = capacity;
        return this;
    }

    /// <summary>Overrides <c>Cluster:EntityMaxIdleTime</c> for this type.</summary>
    public EntityDefinition<TContract, TEntity> WithMaxIdleTime(TimeSpan maxIdleTime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxIdleTime, TimeSpan.Zero);
        MaxIdleTime = maxIdleTime;
        return this;
    }

    /// <summary>
    /// Declares <typeparamref name="TException"/> (and its subclasses) an expected failure of this entity: a handler that
    /// throws it answers its caller with an <see cref="Errors.EntityHandlerException"/> naming the type, and the
    /// instance carries on. Any other exception, except cluster errors and cancellations, is a defect (see
    /// <see cref="WithDefectRetryPolicy"/>).
    /// </summary>
    public EntityDefinition<TContract, TEntity> FailsWith<TException>()
        where TException : Exception
    {
        AddExpectedFailure(typeof(TException));
        return this;
    }

    /// <summary>
    /// How the instance recovers from a defect: by default it discards its handler object, builds a fresh one after
    /// a back-off and runs its in-flight requests again (<see cref="DefectRetryPolicy.Default"/>).
    /// </summary>
    public EntityDefinition<TContract, TEntity> WithDefectRetryPolicy(DefectRetryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        DefectRetryPolicy = policy;
        return this;
    }

    /// <summary>A defect only answers its caller with an <see cref="Errors.EntityHandlerException"/>; the instance is not restarted.</summary>
    public EntityDefinition<TContract, TEntity> DisableFatalDefects()
    {
        FatalDefectsDisabled = true;
        return this;
    }
}
