using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Wraps a MessageStorage: records what was saved, and can be switched off to simulate an outage.</summary>
public sealed class RecordingMessageStorage(IMessageStorage inner) : IMessageStorage
{
    public ConcurrentQueue<PersistedRequest> Requests { get; } = new();

    public ConcurrentQueue<PersistedReply> Replies { get; } = new();

    public ConcurrentQueue<PersistedEnvelope> Envelopes { get; } = new();

    /// <summary>While true every call fails with <see cref="PersistenceException"/>.</summary>
    public volatile bool Down;

    public async Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        Check();
        var result = await inner.SaveRequestAsync(request, cancellationToken);
        Requests.Enqueue(request);
        return result;
    }

    public async Task SaveEnvelopeAsync(PersistedEnvelope envelope, CancellationToken cancellationToken)
    {
        Check();
        await inner.SaveEnvelopeAsync(envelope, cancellationToken);
        Envelopes.Enqueue(envelope);
    }

    /// <summary>Awaited before each reply is saved (to hold a save in flight).</summary>
    public Func<PersistedReply, Task>? BeforeSaveReply { get; set; }

    public async Task<bool> SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken)
    {
        Check();
        if (BeforeSaveReply is { } before)
        {
            await before(reply);
        }

        var saved = await inner.SaveReplyAsync(reply, cancellationToken);
        if (saved)
        {
            Replies.Enqueue(reply);
        }

        return saved;
    }

    public Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        Check();
        return inner.RepliesForAsync(requestIds, cancellationToken);
    }

    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, int limit, CancellationToken cancellationToken)
    {
        Check();
        return inner.UnprocessedMessagesAsync(shards, limit, cancellationToken);
    }

    public Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken)
    {
        Check();
        return inner.ResetShardsAsync(shards, cancellationToken);
    }

    public Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken)
    {
        Check();
        return inner.ClearRepliesAsync(requestId, cancellationToken);
    }

    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesByIdAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        Check();
        return inner.UnprocessedMessagesByIdAsync(requestIds, cancellationToken);
    }

    public Task ResetAddressAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        Check();
        return inner.ResetAddressAsync(address, cancellationToken);
    }

    public Task ClearAddressAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        Check();
        return inner.ClearAddressAsync(address, cancellationToken);
    }

    public Task<long?> RequestIdForPrimaryKeyAsync(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken)
    {
        Check();
        return inner.RequestIdForPrimaryKeyAsync(address, tag, primaryKey, cancellationToken);
    }

    private void Check()
    {
        if (Down)
        {
            throw new PersistenceException("Message storage is down (test).");
        }
    }
}
