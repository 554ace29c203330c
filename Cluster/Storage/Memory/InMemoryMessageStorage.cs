using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage.Memory;

/// <summary>MessageStorage in process memory (one process, tests), with the semantics of the Redis implementation.</summary>
public sealed class InMemoryMessageStorage(TimeProvider? time = null) : IMessageStorage
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Entry> _requests = [];
    private readonly Dictionary<string, long> _primaryKeys = new(StringComparer.Ordinal);
    private long _order;

    /// <inheritdoc />
    public Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (request.StorageKey is { } key)
            {
                if (_primaryKeys.TryGetValue(key, out var originalId))
                {
                    var replies = _requests[originalId].Replies;
                    return Task.FromResult<SaveRequestResult>(new SaveRequestResult.Duplicate(originalId, replies.Count > 0 ? replies[^1] : null));
                }

                _primaryKeys[key] = request.Id;
            }

            if (!_requests.TryAdd(request.Id, new Entry(request, ++_order)))
            {
                throw new Errors.PersistenceException($"A request with id {request.Id} is already stored.");
            }

            return Task.FromResult<SaveRequestResult>(SaveRequestResult.Saved.Instance);
        }
    }

    /// <inheritdoc />
    public Task SaveEnvelopeAsync(PersistedEnvelope envelope, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_requests.TryGetValue(envelope.RequestId, out var entry) && !entry.Completed)
            {
                switch (envelope)
                {
                    case PersistedEnvelope.AckChunk ack:
                        entry.Acked = Math.Max(entry.Acked, ack.Sequence);
                        break;
                    case PersistedEnvelope.Interrupt:
                        entry.Interrupted = true;
                        entry.LeasedUntil = null;
                        break;
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_requests.TryGetValue(reply.RequestId, out var entry) || entry.Completed
                || (!reply.IsFinal && reply.Sequence != entry.Replies.Count))
            {
                return Task.FromResult(false);
            }

            entry.Replies.Add(reply);
            entry.Completed = reply.IsFinal;
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var replies = new List<PersistedReply>();
            foreach (var id in requestIds)
            {
                if (_requests.TryGetValue(id, out var entry))
                {
                    replies.AddRange(entry.Replies.Where(r => r.IsFinal || r.Sequence > entry.Acked));
                }
            }

            return Task.FromResult<IReadOnlyList<PersistedReply>>(replies);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, int limit, CancellationToken cancellationToken)
    {
        var wanted = shards as IReadOnlySet<ShardId> ?? shards.ToHashSet();
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return Task.FromResult(Lease(
                _requests.Values.Where(e => wanted.Contains(e.Request.Address.ShardId) && (e.LeasedUntil is null || e.LeasedUntil <= now)), limit, now));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesByIdAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return Task.FromResult(Lease(
                requestIds.Distinct().Select(id => _requests.GetValueOrDefault(id)).OfType<Entry>(), requestIds.Count, now));
        }
    }

    /// <summary>The unfinished, due ones of <paramref name="candidates"/>, oldest first, each leased for the read lease. Call under the lock.</summary>
    private static IReadOnlyList<UnprocessedMessage> Lease(IEnumerable<Entry> candidates, int limit, DateTimeOffset now)
    {
        var due = candidates
            .Where(e => !e.Completed && (e.Interrupted || e.Request.DeliverAt is null || e.Request.DeliverAt <= now))
            .OrderBy(e => e.Order)
            .Take(limit)
            .ToArray();
        foreach (var entry in due)
        {
            entry.LeasedUntil = now + MessageStorageDefaults.ReadLease;
        }

        return due.Select(e => new UnprocessedMessage(e.Request, e.Interrupted, e.Replies.Count - 1, e.Replies.Count > 0 ? e.Replies[^1] : null)).ToArray();
    }

    /// <inheritdoc />
    public Task ResetAddressAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var entry in _requests.Values.Where(e => e.Request.Address == address))
            {
                entry.LeasedUntil = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ClearAddressAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var entry in _requests.Values.Where(e => e.Request.Address == address).ToArray())
            {
                _requests.Remove(entry.Request.Id);
                if (entry.Request.StorageKey is { } key)
                {
                    _primaryKeys.Remove(key);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long?> RequestIdForPrimaryKeyAsync(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<long?>(_primaryKeys.TryGetValue(PersistedRequest.StorageKeyOf(address, tag, primaryKey), out var id) ? id : null);
        }
    }

    /// <inheritdoc />
    public Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken)
    {
        var reset = shards as IReadOnlySet<ShardId> ?? shards.ToHashSet();
        lock (_lock)
        {
            foreach (var entry in _requests.Values.Where(e => reset.Contains(e.Request.Address.ShardId)))
            {
                entry.LeasedUntil = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_requests.TryGetValue(requestId, out var entry))
            {
                entry.Replies.Clear();
                entry.Completed = false;
                entry.Interrupted = false;
                entry.Acked = -1;
                entry.LeasedUntil = null;
            }
        }

        return Task.CompletedTask;
    }

    private sealed class Entry(PersistedRequest request, long order)
    {
        public PersistedRequest Request { get; } = request;

        public long Order { get; } = order;

        public List<PersistedReply> Replies { get; } = [];

        public bool Completed { get; set; }

        public bool Interrupted { get; set; }

        public int Acked { get; set; } = -1;

        public DateTimeOffset? LeasedUntil { get; set; }
    }
}
