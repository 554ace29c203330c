using System.Diagnostics;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Faults.Tests.Support;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>The Redis-protocol storage of three real runner processes fails under load: killed and restarted, or slow.</summary>
public sealed class StorageFaultTests(ITestOutputHelper output)
{
    /// <summary>Longer than a lease, so every lease expires during the outage and must be taken again.</summary>
    private static readonly TimeSpan Outage = ClusterTimings.ShardLockExpiration + TimeSpan.FromSeconds(1);

    /// <summary>After storage returns: a reconnect, an assignment refresh, a rebalance, generously on a loaded machine.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task AfterAStorageOutageTheClusterRecoversAndNoPersistedMessageIsLostOrHandledTwice()
    {
        Skip.If(RedisServer.Executable is null, RedisServer.SkipReason);
        var report = new Report(output, nameof(AfterAStorageOutageTheClusterRecoversAndNoPersistedMessageIsLostOrHandledTwice));
        await using var cluster = await RunnerCluster.StartAsync(output, runners: 3, durable: true);
        try
        {
            var load = new LoadGenerator(cluster.Client!.Sharding, new LoadOptions());
            await load.ReadInitialStockAsync();
            using var stop = new CancellationTokenSource();
            load.Phase = "1-before";
            var running = load.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(6));

            await cluster.Redis.KillAsync();
            load.Phase = "2-outage";
            var down = Stopwatch.StartNew();
            report.Line($"killed redis-server (append-only, fsync always) for {Outage.TotalSeconds:0} s; lease expiry {ClusterTimings.ShardLockExpiration.TotalSeconds} s");
            await Task.Delay(Outage);

            await cluster.Redis.StartAsync();
            load.Phase = "3-recovering";
            var up = Stopwatch.StartNew();
            await Eventually.True(async () => await cluster.AllShardsOwnedAsync() && await ProbeAsync(cluster), RecoveryBound,
                () => "the runners own every shard again and a persisted reservation succeeds", TimeSpan.FromMilliseconds(200));
            var recovered = up.Elapsed;
            load.Phase = "4-after";
            report.Line($"storage back after {down.Elapsed.TotalSeconds - recovered.TotalSeconds:0.0} s; all shards owned and persisted sends served {recovered.TotalSeconds:0.00} s later: {string.Join(", ", await cluster.ShardsOwnedAsync())}");

            // The first runner back may take every shard before the others' heartbeats are fresh again; they get theirs back.
            await Eventually.True(async () => (await cluster.ShardsOwnedAsync()).All(o => o > 0) && await cluster.AllShardsOwnedAsync(), RecoveryBound,
                () => "every runner owns shards again", TimeSpan.FromMilliseconds(200));
            report.Line($"every runner owns shards again {up.Elapsed.TotalSeconds:0.00} s after storage came back: {string.Join(", ", await cluster.ShardsOwnedAsync())}");
            await Task.Delay(TimeSpan.FromSeconds(6));
            await stop.CancelAsync();
            await running.WaitAsync(ClusterTimings.PersistedCallBound + TimeSpan.FromSeconds(30));
            report.Line(load.Summary());

            // A caller told PersistenceException resends with the same order id: handled once, whether or not the first save landed.
            var unanswered = load.Orders.Count(o => (o.Sku is not null && o.Reservations.IsEmpty) || (o.ReleaseRequested && o.Releases.IsEmpty) || (o.Cart is not null && o.Checkouts.IsEmpty));
            await load.ReconcileAsync();
            var stock = await load.ReadStockAsync();
            var expected = load.ExpectedStock();
            report.Line($"re-sent {unanswered} orders without an answer; stock: {string.Join(", ", stock.Select(s => $"{s.Key}={s.Value} (expected {expected[s.Key]})"))}");

            var calls = load.Calls;
            Assert.DoesNotContain(calls, c => c.Outcome is Outcome.Hang or Outcome.Other);
            Assert.Contains(calls, c => c.Phase == "2-outage" && c.Persisted && c.Outcome == Outcome.Typed);
            Assert.All(calls.Where(c => c.Phase is "4-after" or "reconcile"), c => Assert.Equal(Outcome.Success, c.Outcome));
            // Sends during the outage fail fast with a typed error: the storage timeout plus slack, not the reply deadline.
            Assert.All(calls.Where(c => c.Phase == "2-outage" && c.Outcome == Outcome.Typed),
                c => Assert.True(c.Elapsed < ClusterTimings.StorageTimeout + TimeSpan.FromSeconds(8), $"{c.Rpc} failed only after {c.Elapsed.TotalSeconds:0.0} s"));
            Assert.All(load.Orders.Where(o => o.Reservations.Count > 1), o => Assert.Single(o.Reservations.Distinct()));
            // Nothing accepted before the outage was lost with it (the state is in the append-only file), nothing taken twice.
            Assert.Equal(expected, stock);
        }
        catch
        {
            cluster.WriteLogs();
            throw;
        }
    }

    [SkippableFact]
    public async Task WithSlowStorageTheClusterKeepsServingAndLosesNothing()
    {
        Skip.If(RedisServer.Executable is null, RedisServer.SkipReason);
        var report = new Report(output, nameof(WithSlowStorageTheClusterKeepsServingAndLosesNothing));
        TcpProxy? proxy = null;
        try
        {
            await using var cluster = await RunnerCluster.StartAsync(output, runners: 3, storageFor: (_, redisPort) =>
            {
                if (proxy is null)
                {
                    proxy = new TcpProxy(redisPort, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(150));
                    proxy.Start();
                }

                return proxy.ConnectionString;
            });
            try
            {
                var load = new LoadGenerator(cluster.Client!.Sharding, new LoadOptions());
                await load.ReadInitialStockAsync();
                using var stop = new CancellationTokenSource();
                load.Phase = "slow";
                var running = load.RunAsync(stop.Token);
                await Task.Delay(TimeSpan.FromSeconds(15));
                await stop.CancelAsync();
                await running.WaitAsync(ClusterTimings.PersistedCallBound + TimeSpan.FromSeconds(30));

                var stock = await load.ReadStockAsync();
                var expected = load.ExpectedStock();
                report.Line($"storage behind a proxy adding 50-150 ms per chunk each way ({proxy!.Chunks} chunks passed)");
                report.Line(load.Summary());
                report.Line($"stock: {string.Join(", ", stock.Select(s => $"{s.Key}={s.Value} (expected {expected[s.Key]})"))}");

                var calls = load.Calls;
                Assert.All(calls, c => Assert.Equal(Outcome.Success, c.Outcome));
                Assert.True(calls.Count(c => c.Persisted) >= 20, $"only {calls.Count(c => c.Persisted)} persisted calls were made");
                Assert.All(load.Orders.Where(o => o.Reservations.Count > 1), o => Assert.Single(o.Reservations.Distinct()));
                Assert.Equal(expected, stock);
                // Slow is not down: no runner fenced its shards or lost a lease.
                Assert.True(await cluster.AllShardsOwnedAsync(), "not every shard is owned after the slow run");
                Assert.All(cluster.Runners, r => Assert.DoesNotContain("Lost ", r.Log, StringComparison.Ordinal));
                Assert.All(cluster.Runners, r => Assert.DoesNotContain("could not be refreshed in time", r.Log, StringComparison.Ordinal));
            }
            catch
            {
                cluster.WriteLogs();
                throw;
            }
        }
        finally
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    private static async Task<bool> ProbeAsync(RunnerCluster cluster)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var reply = await cluster.Client!.Sharding.GetEntity<Inventory>("probe").AskAsync(new Reserve($"probe-{Guid.NewGuid():N}", 1), timeout.Token);
            return reply.Sku == "probe";
        }
        catch (Exception ex) when (ex is Cluster.Errors.ClusterException or OperationCanceledException)
        {
            return false;
        }
    }
}
