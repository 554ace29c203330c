using SocketRunnerAspire.Cluster.Storage;

namespace SocketRunnerAspire.Cluster.Tests.Storage;

/// <summary>
/// What every <see cref="IMessageStorage"/> must do (Effect's MessageStorage reference tests). A backend's
/// test class only says how to create the storage.
/// </summary>
public abstract class MessageStorageConformanceTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ShardId Shard = new("default", 7);
    private static readonly ShardId OtherShard = new("default", 8);
    private long _nextId = 1000;

    protected abstract IMessageStorage CreateStorage();

    private PersistedRequest Request(string? primaryKey = null, ShardId? shard = null, DateTimeOffset? deliverAt = null) =>
        new(Interlocked.Increment(ref _nextId), new EntityAddress("Counter", "c-1", shard ?? Shard), "Increment", primaryKey, new byte[] { 1, 2, 3 }, deliverAt);

    private static PersistedReply Final(long requestId, byte value) => new(requestId, requestId + 1, 0, IsFinal: true, IsFailure: false, new[] { value });

    [Fact]
    public async Task SavesARequestAndHandsItOutOnceUntilReset()
    {
        var storage = CreateStorage();
        var request = Request();

        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(request, default));

        var first = await storage.UnprocessedMessagesAsync([Shard], Now, default);
        Assert.Equal([request.Id], first.Select(r => r.Id));
        Assert.Equal(request.Payload.ToArray(), first[0].Payload.ToArray());
        Assert.Empty(await storage.UnprocessedMessagesAsync([Shard], Now, default));
        Assert.Empty(await storage.UnprocessedMessagesAsync([OtherShard], Now, default));

        await storage.ResetShardsAsync([Shard], default);
        Assert.Equal([request.Id], (await storage.UnprocessedMessagesAsync([Shard], Now, default)).Select(r => r.Id));
    }

    [Fact]
    public async Task DetectsDuplicatesByPrimaryKeyAlsoAfterAReply()
    {
        var storage = CreateStorage();
        var original = Request("order-1");
        await storage.SaveRequestAsync(original, default);

        var duplicate = Assert.IsType<SaveRequestResult.Duplicate>(await storage.SaveRequestAsync(Request("order-1"), default));
        Assert.Equal(original.Id, duplicate.OriginalId);
        Assert.Null(duplicate.LastReply);

        await storage.SaveReplyAsync(Final(original.Id, 42), default);
        var afterReply = Assert.IsType<SaveRequestResult.Duplicate>(await storage.SaveRequestAsync(Request("order-1"), default));
        Assert.Equal(new byte[] { 42 }, afterReply.LastReply!.Payload.ToArray());

        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(Request("order-2"), default));
    }

    [Fact]
    public async Task CompletedRequestsAreNotUnprocessed()
    {
        var storage = CreateStorage();
        var done = Request();
        var open = Request();
        await storage.SaveRequestAsync(done, default);
        await storage.SaveRequestAsync(open, default);

        await storage.SaveReplyAsync(Final(done.Id, 1), default);

        Assert.Equal([open.Id], (await storage.UnprocessedMessagesAsync([Shard], Now, default)).Select(r => r.Id));
    }

    [Fact]
    public async Task RepliesForReturnsChunksThenTheFinalReplyInOrder()
    {
        var storage = CreateStorage();
        var request = Request();
        await storage.SaveRequestAsync(request, default);

        await storage.SaveReplyAsync(new PersistedReply(request.Id, 1, 0, false, false, new byte[] { 10 }), default);
        await storage.SaveReplyAsync(new PersistedReply(request.Id, 2, 1, false, false, new byte[] { 11 }), default);
        await storage.SaveReplyAsync(new PersistedReply(request.Id, 3, 2, true, false, new byte[] { 12 }), default);
        await storage.SaveReplyAsync(new PersistedReply(request.Id, 4, 3, true, false, new byte[] { 13 }), default); // after completion: ignored

        var replies = await storage.RepliesForAsync([request.Id], default);
        Assert.Equal([10, 11, 12], replies.Select(r => (int)r.Payload.Span[0]));
        Assert.True(replies[^1].IsFinal);

        await storage.ClearRepliesAsync(request.Id, default);
        Assert.Empty(await storage.RepliesForAsync([request.Id], default));
        Assert.Single(await storage.UnprocessedMessagesAsync([Shard], Now, default));
    }

    [Fact]
    public async Task DeliverAtHoldsARequestBackUntilItsTime()
    {
        var storage = CreateStorage();
        var later = Request(deliverAt: Now.AddMinutes(5));
        await storage.SaveRequestAsync(later, default);

        Assert.Empty(await storage.UnprocessedMessagesAsync([Shard], Now, default));
        Assert.Equal([later.Id], (await storage.UnprocessedMessagesAsync([Shard], Now.AddMinutes(5), default)).Select(r => r.Id));
    }
}
