using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Redis;

/// <summary>The MessageStorage suite on Garnet, hosted in the test process.</summary>
public sealed class GarnetMessageStorageTests(GarnetFixture garnet) : MessageStorageConformanceTests, IClassFixture<GarnetFixture>
{
    protected override IMessageStorage CreateStorage() => new RedisMessageStorage(garnet.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
}

/// <summary>The MessageStorage suite on a real redis-server process (skipped where it is not installed).</summary>
public sealed class RedisServerMessageStorageTests(RedisServerProcessFixture redis) : MessageStorageConformanceTests, IClassFixture<RedisServerProcessFixture>
{
    protected override string? SkipReason => RedisServerProcessFixture.Executable is null
        ? "redis-server is not installed (apt-get install redis-server); the Garnet suite runs the same tests."
        : null;

    protected override IMessageStorage CreateStorage() => new RedisMessageStorage(redis.Connection, $"t{Guid.NewGuid():N}", TimeSpan.FromMinutes(5));
}
