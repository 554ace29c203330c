namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>A request handed to its shard's owner.</summary>
/// <param name="Request">The request.</param>
/// <param name="Interrupted">The caller interrupted it: stop it (or do not start it) and save an interrupted reply.</param>
/// <param name="LastChunk">Sequence of the last stream chunk already saved (-1 for none): a resumed stream continues after it.</param>
public sealed record UnprocessedMessage(PersistedRequest Request, bool Interrupted, int LastChunk);
