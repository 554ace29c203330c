using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// A typed handle to one entity, wherever it lives: sends go to the runner that owns its shard
/// (locally when that is this process). Cheap to create; get one from <see cref="IEntityClient.GetEntity{TEntity}"/>.
/// It takes only the messages of <typeparamref name="TEntity"/> (the entity's contract type).
/// </summary>
public readonly struct EntityRef<TEntity>
{
    private readonly Sharding _sharding;

    internal EntityRef(Sharding sharding, EntityAddress address)
    {
        _sharding = sharding;
        Address = address;
    }

    /// <summary>The entity's type, id and shard.</summary>
    public EntityAddress Address { get; }

    /// <summary>Sends <paramref name="request"/> and waits for its reply.</summary>
    public Task<TReply> AskAsync<TReply>(IEntityRequest<TEntity, TReply> request, CancellationToken cancellationToken = default) =>
        _sharding.SendAsync<TReply>(Address, RpcKind.Request, request, cancellationToken);

    /// <summary>Sends <paramref name="request"/> and streams its replies.</summary>
    public IAsyncEnumerable<TItem> StreamAsync<TItem>(IEntityStreamRequest<TEntity, TItem> request, CancellationToken cancellationToken = default) =>
        _sharding.StreamAsync<TItem>(Address, request, cancellationToken);

    /// <summary>Sends <paramref name="message"/>; completes once the entity's mailbox accepted it.</summary>
    public Task TellAsync(IEntityMessage<TEntity> message, CancellationToken cancellationToken = default) =>
        _sharding.SendAsync<object?>(Address, RpcKind.Tell, message, cancellationToken);
}
