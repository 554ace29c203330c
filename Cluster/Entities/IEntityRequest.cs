namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// A message the entity <typeparamref name="TEntity"/> answers with one <typeparamref name="TReply"/> (request → reply RPC).
/// <typeparamref name="TEntity"/> is the entity's contract type (the class with its <see cref="EntityNameAttribute"/>), so
/// <c>GetEntity&lt;TEntity&gt;(id).AskAsync(message)</c> and the handler binding compile only for that entity's messages.
/// </summary>
public interface IEntityRequest<TEntity, TReply>;

/// <summary>A message the entity <typeparamref name="TEntity"/> answers with a stream of <typeparamref name="TItem"/> (request → stream RPC).</summary>
public interface IEntityStreamRequest<TEntity, TItem>;

/// <summary>
/// A message the entity <typeparamref name="TEntity"/> handles without a reply (fire-and-forget). Sending waits only
/// until it is enqueued.
/// </summary>
public interface IEntityMessage<TEntity>;
