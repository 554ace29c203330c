namespace SocketRunnerAspire.Cluster.Storage.Memory;

/// <summary>MessageStorage in process memory, with the semantics the Redis implementation must match.</summary>
public sealed class InMemoryMessageStorage : IMessageStorage
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Entry> _requests = [];
    private readonly Dictionary<(string EntityType, string EntityId, string Key), long> _primaryKeys = [];

    /// <inheritdoc />
    public Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (request.PrimaryKey is { } key)
            {
                var primaryKey = (request.Address.EntityType, request.Address.EntityId, key);
                if (_primaryKeys.TryGetValue(primaryKey, out var originalId))
                {
                    var last = _requests[originalId].Replies.LastOrDefault();
                    return Task.FromResult<SaveRequestResult>(new SaveRequestResult.Duplicate(originalId, last));
                }

                _primaryKeys[primaryKey] = request.Id;
            }

            _requests[request.Id] = new Entry(request);
            return Task.FromResult<SaveRequestResult>(new SaveRequestResult.Saved());
        }
    }

    /// <inheritdoc />
    public Task SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_requests.TryGetValue(reply.RequestId, out var entry) && !entry.Completed)
            {
                entry.Replies.Add(reply);
                entry.Completed = reply.IsFinal;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<PersistedReply> replies = requestIds
                .Where(_requests.ContainsKey)
                .SelectMany(id => _requests[id].Replies)
                .OrderBy(r => r.RequestId).ThenBy(r => r.Sequence)
                .ToArray();
            return Task.FromResult(replies);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PersistedRequest>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var wanted = shards.ToHashSet();
        lock (_lock)
        {
            var due = _requests.Values
                .Where(e => !e.Completed && !e.HandedOut && wanted.Contains(e.Request.Address.ShardId) && (e.Request.DeliverAt is null || e.Request.DeliverAt <= now))
                .OrderBy(e => e.Request.Id)
                .ToArray();
            foreach (var entry in due)
            {
                entry.HandedOut = true;
            }

            return Task.FromResult<IReadOnlyList<PersistedRequest>>(due.Select(e => e.Request).ToArray());
        }
    }

    /// <inheritdoc />
    public Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken)
    {
        var reset = shards.ToHashSet();
        lock (_lock)
        {
            foreach (var entry in _requests.Values.Where(e => reset.Contains(e.Request.Address.ShardId)))
            {
                entry.HandedOut = false;
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
                entry.HandedOut = false;
            }
        }

        return Task.CompletedTask;
    }

    private sealed class Entry(PersistedRequest request)
    {
        public PersistedRequest Request { get; } = request;

        public List<PersistedReply> Replies { get; } = [];

        public bool Completed { get; set; }

        public bool HandedOut { get; set; }
    }
}
