using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Shards;

public sealed class ShardLeaseRefresherTests
{
    private static readonly RunnerAddress Self = new("localhost", 34431);
    private static readonly ShardId Shard = new(ShardId.DefaultGroup, 3);

    private static readonly ShardingOptions Options = new()
    {
        ShardLockRefreshInterval = TimeSpan.FromSeconds(1),
        StorageTimeout = TimeSpan.FromSeconds(1),
        ShardLockExpiration = TimeSpan.FromSeconds(5),
    };

    [Theory]
    [InlineData(2.9, false)]
    [InlineData(3.0, true)]
    public void FencesWhenTheLeaseCouldExpireBeforeTheNextRefreshEnds(double secondsSinceSuccess, bool fence) =>
        Assert.Equal(fence, ShardLeaseRefresher.MustFence(TimeSpan.FromSeconds(secondsSinceSuccess), Options));

    [Fact]
    public async Task WhileStorageIsDownTheShardsStopBeforeTheirLeasesCanExpire()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(Options.ShardLockExpiration, time);
        var ownership = new ShardOwnership();
        await storage.AcquireAsync(Self, [Shard], CancellationToken.None);
        ownership.Acquired([Shard]);
        var refresher = new ShardLeaseRefresher(Options, storage, ownership, Self, () => { }, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = refresher.Start(stop.Token);

        await time.TimerStartedAsync();               // waiting for the first refresh
        time.Advance(TimeSpan.FromSeconds(1));        // refreshed (t = 1 s)
        await time.TimerStartedAsync();               // the refresh's storage timeout
        await time.TimerStartedAsync();               // waiting for the next refresh
        storage.Unavailable = true;
        for (var second = 2; second <= 3; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));    // a refresh fails, 1 s then 2 s after the last success
            await time.TimerStartedAsync();
            await time.TimerStartedAsync();
            Assert.True(ownership.IsOwned(Shard), $"fenced {second - 1} s after the last success, with 4 s of the lease left");
        }

        time.Advance(TimeSpan.FromSeconds(1));        // 3 s after the last success: the next refresh could end past the expiry

        await Eventually.True(() => !ownership.IsOwned(Shard), TimeSpan.FromSeconds(5), "the shard is fenced");
        Assert.Equal(Self, storage.LeaseOwner(Shard));   // the lease itself is still held: nobody else can start it yet
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ALeaseStorageDidNotRenewIsLostAndItsShardStopped()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(Options.ShardLockExpiration, time);
        var ownership = new ShardOwnership();
        await storage.AcquireAsync(Self, [Shard], CancellationToken.None);
        ownership.Acquired([Shard]);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refresher = new ShardLeaseRefresher(Options, storage, ownership, Self, () => lost.TrySetResult(), time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = refresher.Start(stop.Token);
        await storage.ReleaseAsync(Self, Shard, CancellationToken.None);   // e.g. it expired while this runner was paused

        await time.TimerStartedAsync();
        time.Advance(TimeSpan.FromSeconds(1));

        await lost.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(ownership.IsOwned(Shard));
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
