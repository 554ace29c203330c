using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// Durable messages (Effect's <c>MessageStorage</c>): requests of persisted RPCs are saved before delivery,
/// de-duplicated by primary key, handed to the shard's owner until they have a final reply, and handed out
/// again after a crash or shard move. Implementations raise <see cref="Errors.PersistenceException"/> when the
/// store fails or cannot be reached.
/// </summary>
public interface IMessageStorage
{
    /// <summary>Saves a request, or reports the request that already has its primary key and that request's last reply.</summary>
    Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Saves an acknowledgement of a stream chunk (the owner may send the next one) or an interrupt (the owner
    /// stops the request and the request is handed out again so the owner sees it).
    /// </summary>
    Task SaveEnvelopeAsync(PersistedEnvelope envelope, CancellationToken cancellationToken);

    /// <summary>
    /// Saves a reply: the next chunk of a stream, or the final reply that completes the request. Returns false,
    /// and saves nothing, when the request is unknown, already complete, or the chunk is not the next one.
    /// </summary>
    Task<bool> SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken);

    /// <summary>Replies not consumed yet for <paramref name="requestIds"/>: chunks not acknowledged, then the final reply; in sequence order.</summary>
    Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> requests of <paramref name="shards"/> without a final reply that are due
    /// (their <see cref="PersistedRequest.DeliverAt"/> has passed) and not handed out in the last
    /// <see cref="MessageStorageDefaults.ReadLease"/>, oldest first; each is leased (not handed out again) for that long.
    /// </summary>
    Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, int limit, CancellationToken cancellationToken);

    /// <summary>Makes the unfinished requests of <paramref name="shards"/> deliverable again at once (after a shard changes owner).</summary>
    Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken);

    /// <summary>Forgets the replies and interrupt of a request, so it runs again.</summary>
    Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken);

    /// <summary>
    /// The requests of <paramref name="requestIds"/> that are unfinished and due, as <see cref="UnprocessedMessagesAsync"/>
    /// hands them out, oldest first (Effect's <c>unprocessedMessagesById</c>). Meant for re-reading requests this runner
    /// read already, so a read lease does not hold them back; each one returned is leased again.
    /// </summary>
    Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesByIdAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken);

    /// <summary>Makes the unfinished requests of one entity deliverable again at once (ends their read leases), as <see cref="ResetShardsAsync"/> does for a shard.</summary>
    Task ResetAddressAsync(EntityAddress address, CancellationToken cancellationToken);

    /// <summary>Deletes every request of the entity, finished or not, with their replies and primary keys.</summary>
    Task ClearAddressAsync(EntityAddress address, CancellationToken cancellationToken);

    /// <summary>The id of the request stored under <paramref name="primaryKey"/> for RPC <paramref name="tag"/> of the entity; null when there is none.</summary>
    Task<long?> RequestIdForPrimaryKeyAsync(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken);
}
