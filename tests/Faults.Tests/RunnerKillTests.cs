using System.Diagnostics;
using System.Text.RegularExpressions;
using SocketRunnerAspire.Faults.Tests.Support;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>Three real runner processes under load from a client-only node; one is killed with SIGKILL mid-run.</summary>
public sealed partial class RunnerKillTests(ITestOutputHelper output)
{
    [SkippableFact]
    public Task AKilledRunnersShardsAreOwnedAgainWithinTheLeaseAndNoPersistedMessageIsLostOrHandledTwice() =>
        KillUnderLoadAsync(nameof(AKilledRunnersShardsAreOwnedAgainWithinTheLeaseAndNoPersistedMessageIsLostOrHandledTwice), slowRunnerStorage: false);

    /// <summary>
    /// Each runner reaches Redis through its own proxy adding 100-200 ms each way, so a reservation spends most of its
    /// run between saving the new stock and saving its reply: the kill leaves such half-done reservations, which the
    /// next owner runs again (at least once). The inventory must not take their stock twice.
    /// </summary>
    [SkippableFact]
    public async Task ReservationsHalfDoneByAKilledRunnerAreRunAgainWithoutTakingStockTwice()
    {
        var proxies = new List<TcpProxy>();
        try
        {
            await KillUnderLoadAsync(nameof(ReservationsHalfDoneByAKilledRunnerAreRunAgainWithoutTakingStockTwice), slowRunnerStorage: true, (process, redisPort) =>
            {
                if (process == "client")
                {
                    return null;
                }

                var proxy = new TcpProxy(redisPort, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
                proxy.Start();
                proxies.Add(proxy);
                return proxy.ConnectionString;
            });
        }
        finally
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    private async Task KillUnderLoadAsync(string name, bool slowRunnerStorage, Func<string, int, string?>? storageFor = null)
    {
        Skip.If(RedisServer.Executable is null, RedisServer.SkipReason);
        var report = new Report(output, name);
        await using var cluster = await RunnerCluster.StartAsync(output, runners: 3,
            storageFor: storageFor is null ? null : (process, port) => storageFor(process, port) ?? $"127.0.0.1:{port},abortConnect=false");
        try
        {
            // Slow storage: more workers, so that more reservations are in flight when the runner dies.
            var load = new LoadGenerator(cluster.Client!.Sharding, new LoadOptions { Workers = slowRunnerStorage ? 16 : 8, ReserveShare = slowRunnerStorage ? 0.6 : 0.3 });
            await load.ReadInitialStockAsync();
            using var stop = new CancellationTokenSource();
            load.Phase = "1-before";
            var running = load.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(8));

            // The runner hosting the busiest inventory, so the kill lands on persisted reservations in flight.
            var client = cluster.Client.Sharding;
            var victim = cluster.Runners.Single(r => client.GetOwner(client.GetShardId("apple"))?.ToString() == r.Address);
            var victimShards = (await victim.StatusAsync())?.ShardsOwned;
            var killedAt = Stopwatch.StartNew();
            victim.Kill();
            load.Phase = "2-moving";
            report.Line($"killed {victim.Name} (pid {victim.Pid}, {victimShards} shards) with SIGKILL; lease expiry {ClusterTimings.ShardLockExpiration.TotalSeconds} s");

            await cluster.WaitUntilAllShardsOwnedAsync(ClusterTimings.ReownershipBound + TimeSpan.FromSeconds(30));
            var reowned = killedAt.Elapsed;
            load.Phase = "3-after";
            report.Line($"all {RunnerCluster.Shards} shards owned again {reowned.TotalSeconds:0.00} s after the kill (bound {ClusterTimings.ReownershipBound.TotalSeconds:0.#} s): {string.Join(", ", await cluster.ShardsOwnedAsync())}");

            await Task.Delay(TimeSpan.FromSeconds(6));
            await stop.CancelAsync();
            await running.WaitAsync(ClusterTimings.PersistedCallBound + TimeSpan.FromSeconds(30));

            var stock = await load.ReadStockAsync();
            var expected = load.ExpectedStock();
            report.Line(load.Summary());
            report.Line($"stock: {string.Join(", ", stock.Select(s => $"{s.Key}={s.Value} (expected {expected[s.Key]})"))}");
            var orders = load.Orders;
            var reRuns = cluster.Runners.Sum(r => AlreadyReserved().Count(r.Log));
            report.Line($"orders: {orders.Count(o => o.Sku is not null)} reservations ({orders.Count(o => o.Reservations.Count > 1)} sent more than once), " +
                $"{orders.Count(o => !o.Releases.IsEmpty)} released, {orders.Count(o => o.Cart is not null)} checkouts; " +
                $"{reRuns} reservations found their order already holding stock (re-runs after the kill)");

            var calls = load.Calls;
            Assert.DoesNotContain(calls, c => c.Outcome is Outcome.Hang or Outcome.Other);
            // Storage stayed up: every persisted send completes with its reply, even those whose owner was killed.
            Assert.All(calls.Where(c => c.Persisted), c => Assert.Equal(Outcome.Success, c.Outcome));
            Assert.Contains(calls, c => c.Phase == "2-moving" && c.Persisted);
            // Re-sends of an order id got the first reply: the reservation was not made again.
            Assert.All(orders.Where(o => o.Reservations.Count > 1), o => Assert.Single(o.Reservations.Distinct()));
            // Every accepted reservation and checkout is reflected exactly once in the inventories.
            Assert.Equal(expected, stock);
            Assert.True(reowned <= ClusterTimings.ReownershipBound, $"shards were owned again after {reowned.TotalSeconds:0.00} s, more than {ClusterTimings.ReownershipBound.TotalSeconds:0.#} s");
        }
        catch
        {
            cluster.WriteLogs();
            throw;
        }
    }

    [GeneratedRegex("already holds .* not reserved again")]
    private static partial Regex AlreadyReserved();
}
