namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// Durable messages (Effect's <c>MessageStorage</c>): requests of persisted RPCs are saved before delivery,
/// de-duplicated by primary key, handed to the shard's owner until replied, and replayed after a crash or
/// shard move. Failures surface as <see cref="Errors.PersistenceException"/>. The delivery path that uses it
/// (Notify, storage polling, reply polling) lands with the persisted-messages work; this is the seam.
/// </summary>
public interface IMessageStorage
{
    /// <summary>Saves a request, or reports the request that already has its primary key and that request's last reply.</summary>
    Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken);

    /// <summary>Saves a reply: a chunk of a stream, or the final reply that completes the request.</summary>
    Task SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken);

    /// <summary>Replies saved for <paramref name="requestIds"/>, in sequence order.</summary>
    Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken);

    /// <summary>
    /// Requests of <paramref name="shards"/> without a final reply, due at <paramref name="now"/> and not handed
    /// out since the last reset; marks them handed out.
    /// </summary>
    Task<IReadOnlyList<PersistedRequest>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Makes the unfinished requests of <paramref name="shards"/> deliverable again (after an ownership change).</summary>
    Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken);

    /// <summary>Forgets the replies of a request (so a retried request runs again).</summary>
    Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken);
}

/// <summary>A saved request of a persisted RPC.</summary>
/// <param name="Id">Unique request id (a Snowflake id).</param>
/// <param name="Address">The target entity.</param>
/// <param name="Tag">The RPC name.</param>
/// <param name="PrimaryKey">Caller-chosen de-duplication key (per entity); null for none.</param>
/// <param name="Payload">The serialized request.</param>
/// <param name="DeliverAt">Not handed out before this time; null for now.</param>
/// <param name="TraceParent">W3C traceparent of the sender.</param>
public sealed record PersistedRequest(
    long Id,
    EntityAddress Address,
    string Tag,
    string? PrimaryKey,
    ReadOnlyMemory<byte> Payload,
    DateTimeOffset? DeliverAt = null,
    string? TraceParent = null);

/// <summary>A saved reply: a stream chunk (<see cref="IsFinal"/> false) or the final reply (exit).</summary>
public sealed record PersistedReply(long RequestId, long Id, int Sequence, bool IsFinal, bool IsFailure, ReadOnlyMemory<byte> Payload);

/// <summary>Outcome of <see cref="IMessageStorage.SaveRequestAsync"/>.</summary>
public abstract record SaveRequestResult
{
    private SaveRequestResult()
    {
    }

    /// <summary>The request was saved.</summary>
    public sealed record Saved : SaveRequestResult;

    /// <summary>A request with the same primary key exists.</summary>
    /// <param name="OriginalId">Its id.</param>
    /// <param name="LastReply">Its most recent reply, if any.</param>
    public sealed record Duplicate(long OriginalId, PersistedReply? LastReply) : SaveRequestResult;
}
