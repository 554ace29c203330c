using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests;

/// <summary>Three runners and a client-only node in one process: placement, rebalancing, failover.</summary>
public sealed class ShardingTests
{
    private static readonly string[] EntityIds = Enumerable.Range(1, 1000).Select(i => $"counter-{i}").ToArray();

    [Fact]
    public async Task ThreeRunnersSplitTheShardsAsTheRingSays()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        var expected = new HashRing().Add("runner:34431").Add("runner:34432").Add("runner:34433").GetShards(300)!;
        for (var shard = 1; shard <= 300; shard++)
        {
            Assert.Equal(expected[shard - 1], cluster.Client.GetOwner(new ShardId("default", shard)).ToString());
        }

        Assert.All(cluster.Runners, runner => Assert.Equal(100, runner.OwnedShards.Count));
        Assert.True(cluster.Client.IsClientOnly);
        Assert.Empty(cluster.Client.OwnedShards);
        Assert.Equal(3, cluster.Runners.Select(r => r.MachineId).Distinct().Count());
    }

    [Fact]
    public async Task EachOfAThousandEntitiesLivesOnExactlyTheRunnerOwningItsShard()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        var answers = await Task.WhenAll(EntityIds.Select(async id =>
            (Id: id, Runner: await cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI()))));

        foreach (var (id, runner) in answers)
        {
            var entity = cluster.Client.GetEntity<CounterEntity>(id);
            var owner = cluster.Client.GetOwner(entity.Address.ShardId);
            Assert.Equal(owner.ToString(), runner);
            Assert.Single(cluster.Runners, r => r.IsActive(entity.Address));
            Assert.Contains(entity.Address.ShardId, cluster.Runners.Single(r => r.Address == owner).OwnedShards);
        }

        Assert.Equal(1000, cluster.Runners.Sum(r => r.ActiveEntities("Counter")));
        Assert.Equal(3, answers.Select(a => a.Runner).Distinct().Count());
    }

    [Fact]
    public async Task StateStaysWithTheEntityAcrossCallsFromAnyNode()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        Assert.Equal(1, await cluster.Client.GetEntity<CounterEntity>("cart-42").AskAsync(new Increment(1)));
        Assert.Equal(3, await cluster.Runners[0].GetEntity<CounterEntity>("cart-42").AskAsync(new Increment(2)));
        Assert.Equal(6, await cluster.Runners[2].GetEntity<CounterEntity>("cart-42").AskAsync(new Increment(3)));
    }

    [Fact]
    public async Task GracefulLeaveMovesItsShardsAndNoCallFails()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var leaving = cluster.Runners[1];
        var leavingShards = leaving.OwnedShards.ToHashSet();

        using var load = new CancellationTokenSource();
        var failures = 0;
        var calls = 0;
        var traffic = Task.Run(async () =>
        {
            var i = 0;
            while (!load.IsCancellationRequested)
            {
                try
                {
                    await cluster.Client.GetEntity<CounterEntity>(EntityIds[i++ % EntityIds.Length]).AskAsync(new Increment(1));
                    Interlocked.Increment(ref calls);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        await Eventually.True(() => Volatile.Read(ref calls) >= 50, TimeSpan.FromSeconds(10), "traffic flows before the leave");
        await cluster.StopRunnerAsync(leaving);
        await cluster.WaitUntilStableAsync();
        var afterLeave = Volatile.Read(ref calls);
        await Eventually.True(() => Volatile.Read(ref calls) >= afterLeave + 50, TimeSpan.FromSeconds(10), "traffic flows after the leave");
        await load.CancelAsync();
        await traffic;

        Assert.Equal(0, failures);
        Assert.True(calls > 100, $"only {calls} calls went through");
        Assert.All(cluster.Runners, r => Assert.Equal(150, r.OwnedShards.Count));
        Assert.All(leavingShards, shard => Assert.NotEqual(leaving.Address, cluster.Client.GetOwner(shard)));
        Assert.Empty(leaving.OwnedShards);

        var answers = await Task.WhenAll(EntityIds.Take(200).Select(id => cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI())));
        Assert.DoesNotContain(leaving.Address.ToString(), answers);
    }

    [Fact]
    public async Task AJoiningRunnerTakesItsShareOfTheRing()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        await cluster.AddRunnerAsync();
        await cluster.WaitUntilStableAsync();

        var expected = new HashRing().Add("runner:34431").Add("runner:34432").Add("runner:34433").Add("runner:34434").GetShards(300)!;
        foreach (var runner in cluster.Runners)
        {
            Assert.Equal(expected.Count(owner => owner == runner.Address.ToString()), runner.OwnedShards.Count);
        }

        Assert.All(cluster.Runners, r => Assert.Equal(75, r.OwnedShards.Count));
        var answers = await Task.WhenAll(EntityIds.Select(id => cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI())));
        Assert.Equal(4, answers.Distinct().Count());
    }

    [Fact]
    public async Task ACrashedRunnersShardsMoveOnlyAfterItsLeasesExpire()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var victim = cluster.Runners[0];
        var victimShards = victim.OwnedShards.ToHashSet();
        var entityId = EntityIds.First(id => victimShards.Contains(cluster.Client.GetShardId(id)));

        await cluster.CrashRunnerAsync(victim);
        var crashedAt = DateTime.UtcNow;

        // The caller keeps retrying while the shard has no live owner, and succeeds once it moved.
        var runner = await cluster.Client.GetEntity<CounterEntity>(entityId).AskAsync(new WhereAmI());
        var waited = DateTime.UtcNow - crashedAt;

        Assert.NotEqual(victim.Address.ToString(), runner);
        Assert.True(waited >= TimeSpan.FromSeconds(1), $"the shard moved after {waited.TotalMilliseconds:0} ms, before its lease (1.5 s, refreshed every 250 ms) could expire");
        await cluster.WaitUntilStableAsync();
        Assert.All(cluster.Runners, r => Assert.Equal(150, r.OwnedShards.Count));
    }
}
