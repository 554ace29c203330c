using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Redis;

/// <summary>
/// Storage that requires a password: the password in the connection string is honoured (runners register, lease
/// shards and run persisted messages), and without it every storage call is a typed <see cref="PersistenceException"/>.
/// </summary>
public abstract class RedisPasswordTests(RedisServerFixture server)
{
    protected virtual string? SkipReason => null;

    [SkippableFact]
    public async Task WithThePasswordInTheConnectionStringTheClusterRunsOnProtectedStorage()
    {
        Skip.If(SkipReason is not null, SkipReason);
        Assert.Contains("password=", server.ConnectionString, StringComparison.Ordinal);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var name = $"pw{Guid.NewGuid():N}";
        await using var cluster = await TestCluster.StartAsync(2,
            storage: new RedisRunnerStorage(redis, name, TimeSpan.FromSeconds(5)),
            messages: new RedisMessageStorage(redis, name, TimeSpan.FromMinutes(10)),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback());

        Assert.Equal(2, (await cluster.Storage.GetRunnersAsync(default)).Count);
        Assert.Equal(3, await cluster.Client.GetEntity<CounterEntity>("protected").AskAsync(new Increment(3)));
        // Persisted and keyed: the second send is de-duplicated by storage and answered with the first reply.
        Assert.Equal(8, await cluster.Client.GetEntity<CounterEntity>("protected").AskAsync(new Deposit("order-1", 5)));
        Assert.Equal(8, await cluster.Client.GetEntity<CounterEntity>("protected").AskAsync(new Deposit("order-1", 5)));
    }

    [SkippableFact]
    public async Task WithoutThePasswordStorageCallsFailWithPersistenceException()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionStringWithoutPassword);
        var name = $"pw{Guid.NewGuid():N}";

        await Assert.ThrowsAsync<PersistenceException>(() => new RedisRunnerStorage(redis, name, TimeSpan.FromSeconds(5)).GetRunnersAsync(default));
        await Assert.ThrowsAsync<PersistenceException>(() => new RedisMessageStorage(redis, name, TimeSpan.FromMinutes(10)).ClearRepliesAsync(1, default));
    }
}

/// <summary>On Garnet with <c>--auth Password</c>.</summary>
public sealed class GarnetPasswordTests(PasswordGarnetFixture garnet) : RedisPasswordTests(garnet), IClassFixture<PasswordGarnetFixture>;

/// <summary>On redis-server with <c>requirepass</c> (skipped where it is not installed).</summary>
public sealed class RedisServerPasswordTests(PasswordRedisServerProcessFixture redis) : RedisPasswordTests(redis), IClassFixture<PasswordRedisServerProcessFixture>
{
    protected override string? SkipReason => RedisServerProcessFixture.Executable is null ? "redis-server is not installed." : null;
}
