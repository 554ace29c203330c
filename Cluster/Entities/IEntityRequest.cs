namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>A message an entity answers with one <typeparamref name="TReply"/> (request → reply RPC).</summary>
public interface IEntityRequest<TReply>;

/// <summary>A message an entity answers with a stream of <typeparamref name="TItem"/> (request → stream RPC).</summary>
public interface IEntityStreamRequest<TItem>;

/// <summary>A message an entity handles without a reply (fire-and-forget). Sending waits only until it is enqueued.</summary>
public interface IEntityMessage;
