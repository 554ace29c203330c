using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
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

/// <summary>The MessageStorage suite on a real redis-server process (skipped where it is not installed).</summary>
public sealed class RedisServerMessageStorageTests(RedisServerProcessFixture redis) : MessageStorageConformanceTests, IClassFixture<RedisServerProcessFixture>
{
    protected override string? SkipReason => RedisServerProcessFixture.Executable is null
        ? "redis-server is not installed (apt-get install redis-server); the Garnet suite runs the same tests."
        : null;

    protected override IMessageStorage CreateStorage() => new RedisMessageStorage(redis.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
}
