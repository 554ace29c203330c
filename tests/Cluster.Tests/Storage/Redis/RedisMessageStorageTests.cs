using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Redis;

/// <summary>The MessageStorage suite on Garnet, hosted in the test process.</summary>
public sealed class GarnetMessageStorageTests(GarnetFixture garnet) : MessageStorageConformanceTests, IClassFixture<GarnetFixture>
{
    protected override IMessageStorage CreateStorage() => new RedisMessageStorage(garnet.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
}

/// <summary>Batching of the Redis MessageStorage, on Garnet.</summary>
public sealed class RedisMessageStorageBatchingTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task ConcurrentSavesShareScriptCalls()
    {
        var storage = new RedisMessageStorage(garnet.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
        var address = new SocketRunnerAspire.Cluster.Addressing.EntityAddress("Counter", "c-1", new SocketRunnerAspire.Cluster.Addressing.ShardId("default", 1));
        var requests = Enumerable.Range(1, 500).Select(i => new PersistedRequest(i, address, "Increment", SocketRunnerAspire.Cluster.Entities.RpcKind.Request, new byte[] { 1 })).ToArray();

        var results = await Task.WhenAll(requests.Select(r => storage.SaveRequestAsync(r, default)));
        var saved = await Task.WhenAll(requests.Select(r => storage.SaveReplyAsync(new PersistedReply(r.Id, 0, true, false, new byte[] { 2 }), default)));

        Assert.All(results, r => Assert.IsType<SaveRequestResult.Saved>(r));
        Assert.All(saved, Assert.True);
        Assert.InRange(storage.SaveBatches, 2, 100);   // one call each would be 1,000
    }

    [Fact]
    public async Task ARequestIdStoredAlreadyFailsOnlyItsOwnSave()
    {
        var storage = new RedisMessageStorage(garnet.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
        var address = new SocketRunnerAspire.Cluster.Addressing.EntityAddress("Counter", "c-1", new SocketRunnerAspire.Cluster.Addressing.ShardId("default", 1));
        PersistedRequest Make(long id) => new(id, address, "Increment", SocketRunnerAspire.Cluster.Entities.RpcKind.Request, new byte[] { 1 });
        await storage.SaveRequestAsync(Make(7), default);

        var saves = new[] { Make(6), Make(7), Make(8) }.Select(r => storage.SaveRequestAsync(r, default)).ToArray();

        Assert.IsType<SaveRequestResult.Saved>(await saves[0]);
        await Assert.ThrowsAsync<SocketRunnerAspire.Cluster.Errors.PersistenceException>(() => saves[1]);
        Assert.IsType<SaveRequestResult.Saved>(await saves[2]);
    }
}

/// <summary>Stored rows the Redis MessageStorage cannot read (Effect's "malformed message in storage"), on Garnet.</summary>
public sealed class RedisMalformedRowTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    private static readonly SocketRunnerAspire.Cluster.Addressing.EntityAddress Address = new("Counter", "c-1", new SocketRunnerAspire.Cluster.Addressing.ShardId("default", 3));

    [Theory]
    [InlineData("e", "not an envelope")]
    [InlineData("c", "seven")]
    [InlineData("i", "maybe")]
    public async Task AnUndecodableRowIsSkippedAnsweredWithMalformedMessageAndKept(string field, string value)
    {
        var cluster = $"t{Guid.NewGuid():N}";
        var logs = new CapturingLoggerProvider();
        var storage = new RedisMessageStorage(garnet.Connection, cluster, TimeSpan.FromMinutes(5), logs.CreateFactory().CreateLogger("storage"));
        PersistedRequest Make(long id) => new(id, Address, "Increment", SocketRunnerAspire.Cluster.Entities.RpcKind.Request, new byte[] { 1 });
        await storage.SaveRequestAsync(Make(1), default);
        await storage.SaveRequestAsync(Make(2), default);
        var row = $"{{{cluster}}}:m:{2L:D19}";
        await garnet.Connection.GetDatabase().HashSetAsync(row, field, value);

        var read = await storage.UnprocessedMessagesAsync([Address.ShardId], 100, default);

        Assert.Equal([1L], read.Select(m => m.Request.Id));
        var reply = Assert.Single(await storage.RepliesForAsync([2], default));
        Assert.True(reply.IsFinal && reply.IsFailure);
        Assert.IsType<SocketRunnerAspire.Cluster.Errors.MalformedMessageException>(SocketRunnerAspire.Cluster.Errors.ReplyFailure.Decode(reply.Payload));
        Assert.Contains(logs.Entries, e => e.Message.Contains("Stored request 2 cannot be decoded", StringComparison.Ordinal));
        Assert.Equal(value, (string?)await garnet.Connection.GetDatabase().HashGetAsync(row, field));   // the bad row stays
        await storage.ResetShardsAsync([Address.ShardId], default);
        Assert.Equal([1L], (await storage.UnprocessedMessagesAsync([Address.ShardId], 100, default)).Select(m => m.Request.Id));
        Assert.Empty(await storage.UnprocessedMessagesByIdAsync([2], default));
    }
}

/// <summary>A corrupt row does not fail the batch it is read or saved with, on Garnet.</summary>
public sealed class RedisCorruptRowBatchTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task RepliesAndAcksOfOtherRequestsStillWork()
    {
        var cluster = $"t{Guid.NewGuid():N}";
        var storage = new RedisMessageStorage(garnet.Connection, cluster, TimeSpan.FromMinutes(5));
        var address = new SocketRunnerAspire.Cluster.Addressing.EntityAddress("Counter", "c-1", new SocketRunnerAspire.Cluster.Addressing.ShardId("default", 3));
        PersistedRequest Make(long id) => new(id, address, "CountTo", SocketRunnerAspire.Cluster.Entities.RpcKind.Stream, new byte[] { 1 });
        await storage.SaveRequestAsync(Make(1), default);
        await storage.SaveRequestAsync(Make(2), default);
        var db = garnet.Connection.GetDatabase();
        await db.HashSetAsync($"{{{cluster}}}:m:{1L:D19}", [new("ack", "x"), new("c", "y")]);

        var saved = await Task.WhenAll(
            storage.SaveReplyAsync(new PersistedReply(1, 0, false, false, new byte[] { 9 }), default),
            storage.SaveReplyAsync(new PersistedReply(2, 0, false, false, new byte[] { 8 }), default));
        await storage.SaveEnvelopeAsync(new PersistedEnvelope.AckChunk(1, 0), default);

        Assert.Equal([false, true], saved);
        Assert.Equal([2L], (await storage.RepliesForAsync([1, 2], default)).Select(r => r.RequestId));
    }
}

/// <summary>The MessageStorage suite on a real redis-server process (skipped where it is not installed).</summary>
public sealed class RedisServerMessageStorageTests(RedisServerProcessFixture redis) : MessageStorageConformanceTests, IClassFixture<RedisServerProcessFixture>
{
    protected override string? SkipReason => RedisServerProcessFixture.Executable is null
        ? "redis-server is not installed (apt-get install redis-server); the Garnet suite runs the same tests."
        : null;

    protected override IMessageStorage CreateStorage() => new RedisMessageStorage(redis.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
}
