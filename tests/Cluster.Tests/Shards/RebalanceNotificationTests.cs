using System.Diagnostics;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Shards;

/// <summary>
/// Rebalancing on storage change notifications: a join or leave is seen, and released leases are taken, at once rather
/// than on the next periodic refresh; without notifications the periodic refreshes still get there; and a shard never
/// has two owners during the handoff.
/// </summary>
public sealed class RebalanceNotificationTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    // Far longer than any bound below: a rebalance that finishes within the bound cannot have waited for a refresh.
    private static readonly TimeSpan SlowRefresh = TimeSpan.FromSeconds(30);
    private static readonly string[] EntityIds = Enumerable.Range(1, 300).Select(i => $"counter-{i}").ToArray();

    /// <summary>Default lease settings (a lease never expires during a test) with a slow assignment refresh.</summary>
    private static void DefaultLeasesSlowRefresh(ShardingOptions options)
    {
        var defaults = new ShardingOptions();
        options.ShardLockRefreshInterval = defaults.ShardLockRefreshInterval;
        options.ShardLockExpiration = defaults.ShardLockExpiration;
        options.StorageTimeout = defaults.StorageTimeout;
        options.RefreshAssignmentsInterval = SlowRefresh;
    }

    private RedisRunnerStorage GarnetStorage() => new(garnet.Connection, $"n{Guid.NewGuid():N}", new ShardingOptions().ShardLockExpiration);

    private static Task ActivateEntitiesAsync(TestCluster cluster) =>
        Task.WhenAll(EntityIds.Select(id => cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new Increment(1))));

    [Fact]
    public async Task AJoinOverGarnetRebalancesWellWithinTheRefreshIntervalThroughNotifications()
    {
        var storage = new ObservedNotifyingRunnerStorage(GarnetStorage());
        await using var cluster = await TestCluster.StartAsync(3, DefaultLeasesSlowRefresh, storage: storage);
        storage.Nodes = () => cluster.Runners;
        await ActivateEntitiesAsync(cluster);

        var joined = Stopwatch.StartNew();
        var added = await cluster.AddRunnerAsync();
        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(25));
        joined.Stop();

        Assert.True(joined.Elapsed < TimeSpan.FromSeconds(5), $"the join took {joined.Elapsed.TotalSeconds:0.00} s; the refresh interval is {SlowRefresh.TotalSeconds} s");
        Assert.Equal(75, added.OwnedShards.Count);
        Assert.Empty(storage.Violations);
        var answers = await Task.WhenAll(EntityIds.Select(id => cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI())));
        Assert.Equal(4, answers.Distinct().Count());
    }

    [Fact]
    public async Task AJoinStopsExactlyTheEntitiesOfTheShardsThatMovedAway()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var before = cluster.Runners.ToArray();
        await ActivateEntitiesAsync(cluster);
        var addresses = EntityIds.Select(id => cluster.Client.GetEntity<CounterEntity>(id).Address).ToArray();
        var hostedBefore = addresses.ToDictionary(a => a, a => before.Single(r => r.IsActive(a)));

        await cluster.AddRunnerAsync();
        await cluster.WaitUntilStableAsync();

        var moved = 0;
        foreach (var (address, runner) in hostedBefore)
        {
            var stillOwned = runner.OwnedShards.Contains(address.ShardId);
            moved += stillOwned ? 0 : 1;
            Assert.True(runner.IsActive(address) == stillOwned, $"{address} on {runner.Address}: shard still owned {stillOwned}, entity active {!stillOwned}");
        }

        Assert.InRange(moved, 1, addresses.Length - 1);
    }

    [Fact]
    public async Task AGracefulLeaveOverGarnetRebalancesWellWithinTheRefreshIntervalThroughNotifications()
    {
        var storage = new ObservedNotifyingRunnerStorage(GarnetStorage());
        await using var cluster = await TestCluster.StartAsync(4, DefaultLeasesSlowRefresh, storage: storage);
        var leaving = cluster.Runners[^1];
        storage.Nodes = () => cluster.Runners.Append(leaving);
        await ActivateEntitiesAsync(cluster);

        var left = Stopwatch.StartNew();
        await cluster.StopRunnerAsync(leaving);
        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(25));
        left.Stop();

        Assert.True(left.Elapsed < TimeSpan.FromSeconds(5), $"the leave took {left.Elapsed.TotalSeconds:0.00} s; the refresh interval is {SlowRefresh.TotalSeconds} s");
        Assert.Equal(300, cluster.Runners.Sum(r => r.OwnedShards.Count));
        Assert.Empty(storage.Violations);
    }

    [Fact]
    public async Task WithNotificationsLostAJoinWaitsForTheRefreshInterval()
    {
        // The control of the tests above: same cluster, notifications dropped after start-up, so nothing but the
        // (slow) periodic refresh could tell the old owners of the join.
        var storage = new ObservedNotifyingRunnerStorage(new InMemoryRunnerStorage(new ShardingOptions().ShardLockExpiration));
        await using var cluster = await TestCluster.StartAsync(3, DefaultLeasesSlowRefresh, storage: storage);
        storage.NotificationsEnabled = false;

        var added = await cluster.AddRunnerAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Empty(added.OwnedShards);
        Assert.Equal(300, cluster.Runners.Sum(r => r.OwnedShards.Count));
    }

    [Fact]
    public async Task WithoutNotificationsTheRefreshIntervalStillRebalancesAJoinAndALeave()
    {
        var storage = new ObservedRunnerStorage(GarnetStorage());
        Assert.False(storage is IRunnerStorageNotifications);
        await using var cluster = await TestCluster.StartAsync(3, options =>
        {
            DefaultLeasesSlowRefresh(options);
            options.RefreshAssignmentsInterval = TimeSpan.FromMilliseconds(300);
        }, storage: storage);
        var added = await cluster.AddRunnerAsync();
        storage.Nodes = () => cluster.Runners.Append(added);
        await ActivateEntitiesAsync(cluster);

        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(75, added.OwnedShards.Count);

        await cluster.StopRunnerAsync(added);
        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(300, cluster.Runners.Sum(r => r.OwnedShards.Count));
        Assert.Empty(storage.Violations);
    }

    [Fact]
    public async Task NoShardHasTwoOwnersWhileRunnersJoinAndLeaveUnderLoad()
    {
        var storage = new ObservedNotifyingRunnerStorage(new InMemoryRunnerStorage(TimeSpan.FromSeconds(1.5)));
        await using var cluster = await TestCluster.StartAsync(2, storage: storage);
        var all = cluster.Runners.ToArray();
        storage.Nodes = () => Volatile.Read(ref all);

        using var stop = new CancellationTokenSource();
        var sent = 0;
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; !stop.IsCancellationRequested; i += 8)
            {
                await cluster.Client.GetEntity<CounterEntity>(EntityIds[i % EntityIds.Length]).AskAsync(new Increment(1));
                Interlocked.Increment(ref sent);
            }
        })));

        for (var round = 0; round < 3; round++)
        {
            var added = await cluster.AddRunnerAsync();
            Volatile.Write(ref all, [.. all, added]);

            await cluster.WaitUntilStableAsync();
            await cluster.StopRunnerAsync(added);
            await cluster.WaitUntilStableAsync();
        }

        await stop.CancelAsync();
        await load;

        Assert.True(storage.Delivered > 0, "the in-memory storage delivered no notification");
        Assert.True(Volatile.Read(ref sent) > 0);
        Assert.Empty(storage.Violations);
    }
}
