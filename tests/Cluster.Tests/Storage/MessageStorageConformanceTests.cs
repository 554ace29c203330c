using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Storage;

/// <summary>
/// What every <see cref="IMessageStorage"/> must do (Effect's MessageStorage reference tests, plus read leases,
/// acks, interrupts and DeliverAt). A backend's test class only says how to create the storage.
/// </summary>
public abstract class MessageStorageConformanceTests
{
    private static readonly ShardId Shard = new("default", 7);
    private static readonly ShardId OtherShard = new("default", 8);
    private long _nextId = 1000;

    /// <summary>A fresh, empty storage (a new cluster name per call).</summary>
    protected abstract IMessageStorage CreateStorage();

    /// <summary>Why this backend cannot run here (the tests are then skipped, not passed); null when it can.</summary>
    protected virtual string? SkipReason => null;

    private IMessageStorage Storage()
    {
        Skip.If(SkipReason is not null, SkipReason);
        return CreateStorage();
    }

    private PersistedRequest Request(string? primaryKey = null, ShardId? shard = null, DateTimeOffset? deliverAt = null, RpcKind kind = RpcKind.Request, string entityId = "c-1") =>
        new(Interlocked.Increment(ref _nextId), Address(entityId, shard), "Increment", kind, new byte[] { 1, 2, 3 }, primaryKey, deliverAt, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

    private static EntityAddress Address(string entityId = "c-1", ShardId? shard = null) => new("Counter", entityId, shard ?? Shard);

    private static PersistedReply Final(long requestId, byte value, int sequence = 0) => new(requestId, sequence, IsFinal: true, IsFailure: false, new[] { value });

    private static PersistedReply Chunk(long requestId, int sequence) => new(requestId, sequence, IsFinal: false, IsFailure: false, new[] { (byte)(10 + sequence) });

    private static async Task<long[]> Unprocessed(IMessageStorage storage, params ShardId[] shards) =>
        (await storage.UnprocessedMessagesAsync(shards.Length == 0 ? [Shard] : shards, 100, default)).Select(m => m.Request.Id).ToArray();

    [SkippableFact]
    public async Task SavesARequestAndHandsItOutOnceUntilItsShardIsReset()
    {
        var storage = Storage();
        var request = Request();

        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(request, default));

        var first = await storage.UnprocessedMessagesAsync([Shard], 100, default);
        var message = Assert.Single(first);
        Assert.Equal(request.Id, message.Request.Id);
        Assert.Equal(request.Address, message.Request.Address);
        Assert.Equal(request.Tag, message.Request.Tag);
        Assert.Equal(request.Payload.ToArray(), message.Request.Payload.ToArray());
        Assert.Equal(request.TraceParent, message.Request.TraceParent);
        Assert.False(message.Interrupted);
        Assert.Equal(-1, message.LastChunk);
        Assert.Null(message.LastSentChunk);
        Assert.Empty(await Unprocessed(storage));
        Assert.Empty(await Unprocessed(storage, OtherShard));

        await storage.ResetShardsAsync([Shard], default);
        Assert.Equal([request.Id], await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task ConcurrentSavesEachGetTheirOwnResultIncludingDuplicates()
    {
        var storage = Storage();
        // 20 primary keys, 10 requests each, all saved at once (a batching storage sends many in one call).
        var requests = Enumerable.Range(0, 200).Select(i => Request(primaryKey: $"k{i % 20}")).ToArray();
        var results = await Task.WhenAll(requests.Select(r => storage.SaveRequestAsync(r, default)));

        foreach (var group in requests.Zip(results).GroupBy(p => p.First.PrimaryKey))
        {
            var saved = Assert.Single(group, p => p.Second is SaveRequestResult.Saved);
            Assert.All(group.Where(p => p.Second is not SaveRequestResult.Saved), p =>
            {
                var duplicate = Assert.IsType<SaveRequestResult.Duplicate>(p.Second);
                Assert.Equal(saved.First.Id, duplicate.OriginalId);
                Assert.Null(duplicate.LastReply);
            });
        }

        var originals = requests.Zip(results).Where(p => p.Second is SaveRequestResult.Saved).Select(p => p.First.Id).ToArray();
        var replies = await Task.WhenAll(originals.SelectMany(id => new[] { Final(id, 1), Final(id, 2) }).Select(r => storage.SaveReplyAsync(r, default)));
        Assert.Equal(Enumerable.Range(0, originals.Length).SelectMany(_ => new[] { true, false }), replies);

        var again = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => storage.SaveRequestAsync(Request(primaryKey: $"k{i}"), default)));
        Assert.All(again, result => Assert.Equal(new byte[] { 1 }, Assert.IsType<SaveRequestResult.Duplicate>(result).LastReply!.Payload.ToArray()));
        Assert.Empty(await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task HandsOutOldestFirstUpToTheLimit()
    {
        var storage = Storage();
        var requests = Enumerable.Range(0, 5).Select(_ => Request()).ToArray();
        foreach (var request in requests)
        {
            await storage.SaveRequestAsync(request, default);
        }

        var firstTwo = await storage.UnprocessedMessagesAsync([Shard], 2, default);
        Assert.Equal(requests.Take(2).Select(r => r.Id), firstTwo.Select(m => m.Request.Id));
        Assert.Equal(requests.Skip(2).Select(r => r.Id), await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task DetectsDuplicatesByPrimaryKeyAlsoAfterAReply()
    {
        var storage = Storage();
        var original = Request("order-1");
        await storage.SaveRequestAsync(original, default);

        var duplicate = Assert.IsType<SaveRequestResult.Duplicate>(await storage.SaveRequestAsync(Request("order-1"), default));
        Assert.Equal(original.Id, duplicate.OriginalId);
        Assert.Null(duplicate.LastReply);

        Assert.True(await storage.SaveReplyAsync(Final(original.Id, 42), default));
        var afterReply = Assert.IsType<SaveRequestResult.Duplicate>(await storage.SaveRequestAsync(Request("order-1"), default));
        Assert.True(afterReply.LastReply!.IsFinal);
        Assert.Equal(new byte[] { 42 }, afterReply.LastReply.Payload.ToArray());

        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(Request("order-2"), default));
        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(Request("order-1") with { Tag = "Other" }, default));
    }

    [SkippableFact]
    public async Task CompletedRequestsAreNotUnprocessedAndKeepTheirFirstFinalReply()
    {
        var storage = Storage();
        var done = Request();
        var open = Request();
        await storage.SaveRequestAsync(done, default);
        await storage.SaveRequestAsync(open, default);

        Assert.True(await storage.SaveReplyAsync(Final(done.Id, 1), default));
        Assert.False(await storage.SaveReplyAsync(Final(done.Id, 2), default));

        Assert.Equal([open.Id], await Unprocessed(storage));
        var reply = Assert.Single(await storage.RepliesForAsync([done.Id, open.Id], default));
        Assert.Equal(new byte[] { 1 }, reply.Payload.ToArray());
    }

    [SkippableFact]
    public async Task StreamChunksAreRepliedInOrderUntilAcknowledged()
    {
        var storage = Storage();
        var request = Request(kind: RpcKind.Stream);
        await storage.SaveRequestAsync(request, default);

        Assert.True(await storage.SaveReplyAsync(Chunk(request.Id, 0), default));
        Assert.False(await storage.SaveReplyAsync(Chunk(request.Id, 2), default)); // not the next one
        Assert.True(await storage.SaveReplyAsync(Chunk(request.Id, 1), default));
        Assert.False(await storage.SaveReplyAsync(Chunk(request.Id, 1), default)); // already saved
        Assert.Equal([0, 1], (await storage.RepliesForAsync([request.Id], default)).Select(r => r.Sequence));

        await storage.SaveEnvelopeAsync(new PersistedEnvelope.AckChunk(request.Id, 0), default);
        Assert.Equal([1], (await storage.RepliesForAsync([request.Id], default)).Select(r => r.Sequence));

        await storage.ResetShardsAsync([Shard], default);
        var resumed = Assert.Single(await storage.UnprocessedMessagesAsync([Shard], 100, default));
        Assert.Equal(1, resumed.LastChunk);
        Assert.Equal((1, false), (resumed.LastSentChunk!.Sequence, resumed.LastSentChunk.IsFinal));
        Assert.Equal(new byte[] { 11 }, resumed.LastSentChunk.Payload.ToArray());   // the resume value

        Assert.True(await storage.SaveReplyAsync(Final(request.Id, 99, sequence: 2), default));
        var replies = await storage.RepliesForAsync([request.Id], default);
        Assert.Equal([(1, false), (2, true)], replies.Select(r => (r.Sequence, r.IsFinal)));
        Assert.Equal(new byte[] { 11 }, replies[0].Payload.ToArray());
    }

    [SkippableFact]
    public async Task AnInterruptHandsTheRequestOutAgainWithItsFlag()
    {
        var storage = Storage();
        var request = Request();
        await storage.SaveRequestAsync(request, default);
        Assert.Equal([request.Id], await Unprocessed(storage));

        await storage.SaveEnvelopeAsync(new PersistedEnvelope.Interrupt(request.Id), default);

        Assert.True(Assert.Single(await storage.UnprocessedMessagesAsync([Shard], 100, default)).Interrupted);
    }

    [SkippableFact]
    public async Task ClearRepliesMakesARequestRunAgain()
    {
        var storage = Storage();
        var request = Request();
        await storage.SaveRequestAsync(request, default);
        await storage.SaveReplyAsync(Final(request.Id, 1), default);

        await storage.ClearRepliesAsync(request.Id, default);

        Assert.Empty(await storage.RepliesForAsync([request.Id], default));
        Assert.Equal([request.Id], await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task DeliverAtHoldsARequestBackUntilItsTime()
    {
        var storage = Storage();
        // Far enough ahead that a cold server compiling its scripts (Garnet: up to a second on a loaded 2-core machine)
        // does not reach it before the first reads.
        var deliverAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var later = Request(deliverAt: deliverAt);
        var now = Request();
        await storage.SaveRequestAsync(later, default);
        await storage.SaveRequestAsync(now, default);

        Assert.Equal([now.Id], await Unprocessed(storage));
        await storage.ResetShardsAsync([Shard], default);
        Assert.Equal([now.Id], await Unprocessed(storage));   // a reset does not make it due early

        long[] due = [];
        while (due.Length == 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deliverAt.AddSeconds(5), "the delayed request was never handed out");
            await Task.Delay(50);
            due = await Unprocessed(storage);
        }

        Assert.True(DateTimeOffset.UtcNow >= deliverAt.AddMilliseconds(-20), "handed out before its time");
        Assert.Equal([later.Id], due);
    }

    [SkippableFact]
    public async Task UnprocessedByIdHandsOutThoseIdsWhateverTheirLeaseButNotFinishedOrDelayedOnes()
    {
        var storage = Storage();
        var first = Request();
        var second = Request(entityId: "c-2");
        var done = Request();
        var delayed = Request(deliverAt: DateTimeOffset.UtcNow.AddHours(1));
        var other = Request();
        foreach (var request in new[] { first, second, done, delayed, other })
        {
            await storage.SaveRequestAsync(request, default);
        }

        await storage.SaveReplyAsync(Final(done.Id, 1), default);
        await storage.SaveEnvelopeAsync(new PersistedEnvelope.Interrupt(second.Id), default);
        Assert.Equal([first.Id, second.Id, other.Id], await Unprocessed(storage));   // all leased now

        var byId = await storage.UnprocessedMessagesByIdAsync([second.Id, first.Id, done.Id, delayed.Id, 999_999], default);

        Assert.Equal([first.Id, second.Id], byId.Select(m => m.Request.Id));
        Assert.Equal(second.Address, byId[1].Request.Address);
        Assert.False(byId[0].Interrupted);
        Assert.True(byId[1].Interrupted);
        Assert.Empty(await storage.UnprocessedMessagesByIdAsync([], default));
        await storage.ResetShardsAsync([Shard], default);
        Assert.Equal([first.Id, second.Id, other.Id], await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task ResetAddressEndsTheReadLeasesOfThatEntityOnly()
    {
        var storage = Storage();
        var mine = Request();
        var theirs = Request(entityId: "c-2");
        var delayed = Request(deliverAt: DateTimeOffset.UtcNow.AddHours(1));
        var done = Request();
        foreach (var request in new[] { mine, theirs, delayed, done })
        {
            await storage.SaveRequestAsync(request, default);
        }

        await storage.SaveReplyAsync(Final(done.Id, 1), default);
        Assert.Equal([mine.Id, theirs.Id], await Unprocessed(storage));

        await storage.ResetAddressAsync(Address(), default);

        Assert.Equal([mine.Id], await Unprocessed(storage));   // not the other entity's, not the delayed or finished one
        await storage.ResetAddressAsync(Address("nobody"), default);
        Assert.Empty(await Unprocessed(storage));
    }

    [SkippableFact]
    public async Task ClearAddressDeletesEveryRequestAndReplyOfTheEntity()
    {
        var storage = Storage();
        var completed = Request(primaryKey: "k");
        var open = Request();
        var stream = Request(kind: RpcKind.Stream);
        var theirs = Request(primaryKey: "k", entityId: "c-2");
        foreach (var request in new[] { completed, open, stream, theirs })
        {
            await storage.SaveRequestAsync(request, default);
        }

        await storage.SaveReplyAsync(Final(completed.Id, 1), default);
        await storage.SaveReplyAsync(Chunk(stream.Id, 0), default);
        await storage.SaveReplyAsync(Final(theirs.Id, 2), default);

        await storage.ClearAddressAsync(Address(), default);

        Assert.Empty(await storage.RepliesForAsync([completed.Id, open.Id, stream.Id], default));
        Assert.Single(await storage.RepliesForAsync([theirs.Id], default));
        Assert.Null(await storage.RequestIdForPrimaryKeyAsync(Address(), "Increment", "k", default));
        Assert.Equal(theirs.Id, await storage.RequestIdForPrimaryKeyAsync(Address("c-2"), "Increment", "k", default));
        Assert.Empty(await Unprocessed(storage));
        Assert.False(await storage.SaveReplyAsync(Final(open.Id, 3), default));   // gone, not just finished
        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(Request(primaryKey: "k"), default));
    }

    [SkippableFact]
    public async Task RequestIdForPrimaryKeyFindsTheRequestOfThatEntityAndRpc()
    {
        var storage = Storage();
        var request = Request(primaryKey: "k");
        await storage.SaveRequestAsync(request, default);
        await storage.SaveRequestAsync(Request(primaryKey: "k"), default);   // a duplicate: the original keeps the key

        Assert.Equal(request.Id, await storage.RequestIdForPrimaryKeyAsync(Address(), "Increment", "k", default));
        Assert.Null(await storage.RequestIdForPrimaryKeyAsync(Address(), "Increment", "other", default));
        Assert.Null(await storage.RequestIdForPrimaryKeyAsync(Address(), "Decrement", "k", default));
        Assert.Null(await storage.RequestIdForPrimaryKeyAsync(Address("c-2"), "Increment", "k", default));

        await storage.SaveReplyAsync(Final(request.Id, 1), default);
        Assert.Equal(request.Id, await storage.RequestIdForPrimaryKeyAsync(Address(), "Increment", "k", default));
    }
}
