namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// A saved reply: chunk <see cref="Sequence"/> (0, 1, …) of a stream, or the final reply (exit) of the request,
/// whose sequence is the number of chunks before it. A failed final reply carries the encoded error.
/// </summary>
public sealed record PersistedReply(long RequestId, int Sequence, bool IsFinal, bool IsFailure, ReadOnlyMemory<byte> Payload);
