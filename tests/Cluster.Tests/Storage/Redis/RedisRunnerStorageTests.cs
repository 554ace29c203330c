using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Redis;

/// <summary>The RunnerStorage suite on Garnet, hosted in the test process.</summary>
public sealed class GarnetRunnerStorageTests(GarnetFixture garnet) : RunnerStorageConformanceTests, IClassFixture<GarnetFixture>
{
    protected override IRunnerStorage CreateStorage() => new RedisRunnerStorage(garnet.Connection, $"t{Guid.NewGuid():N}", Lease);
}

/// <summary>The RunnerStorage suite on a real redis-server process (skipped where it is not installed).</summary>
public sealed class RedisServerRunnerStorageTests(RedisServerProcessFixture redis) : RunnerStorageConformanceTests, IClassFixture<RedisServerProcessFixture>
{
    protected override string? SkipReason => RedisServerProcessFixture.Executable is null
        ? "redis-server is not installed (apt-get install redis-server); the Garnet suite runs the same tests."
        : null;

    protected override IRunnerStorage CreateStorage() => new RedisRunnerStorage(redis.Connection, $"t{Guid.NewGuid():N}", Lease);
}
