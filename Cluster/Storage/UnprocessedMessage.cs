namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>A request handed to its shard's owner.</summary>
/// <param name="Request">The request.</param>
/// <param name="Interrupted">The caller interrupted it: stop it (or do not start it) and save an interrupted reply.</param>
/// <param name="LastChunk">Sequence of the last stream chunk already saved (-1 for none): a resumed stream continues after it.</param>
/// <param name="LastSentChunk">
/// That chunk itself (its payload is the stream item a resume-aware handler continues from); null when no chunk was
/// saved or the storage does not return it (the stream then re-runs from its start and the saved chunks are skipped).
/// </param>
public sealed record UnprocessedMessage(PersistedRequest Request, bool Interrupted, int LastChunk, PersistedReply? LastSentChunk = null);
