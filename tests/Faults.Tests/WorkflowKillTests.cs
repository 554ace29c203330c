using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SocketRunnerAspire.Cluster.Workflows;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Faults.Tests.Support;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>
/// Three real runner processes run the sample's checkout workflow (<see cref="Orders.Checkout"/>) for orders a client-only
/// node starts continuously; the runner owning the most workflow shards is killed with SIGKILL while many executions are
/// mid-activity or suspended in their settle sleep.
/// </summary>
public sealed partial class WorkflowKillTests(ITestOutputHelper output)
{
    private const string WorkflowGroup = "workflow";
    private static readonly TimeSpan StartInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan BeforeKill = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan AfterKill = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CompletionBound = TimeSpan.FromSeconds(45);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <see cref="ClusterTimings.ReownershipBound"/>, plus one entity termination timeout: after taking the killed
    /// runner's shards the survivors hand some to each other, and a released shard keeps its lease until the runs on it
    /// end. A replay is abandoned at once, but an activity attempt running on a shard being handed over gets the
    /// termination timeout to finish.
    /// </summary>
    private static readonly TimeSpan ReownershipBound = ClusterTimings.ReownershipBound + ClusterTimings.EntityTerminationTimeout;

    // Plenty of stock for every order this test places (about 80 lines per SKU; coffee and tea have 200).
    private static readonly (string Sku, int MaxQuantity)[] Skus = [("apple", 3), ("banana", 3), ("coffee", 1), ("tea", 1)];

    [SkippableFact]
    public async Task CheckoutsOfAKilledRunnerCompleteExactlyOnceAndNoCompletedActivityRunsAgain()
    {
        Skip.If(RedisServer.Executable is null, RedisServer.SkipReason);
        var report = new Report(output, nameof(CheckoutsOfAKilledRunnerCompleteExactlyOnceAndNoCompletedActivityRunsAgain));
        var total = Stopwatch.StartNew();
        await using var cluster = await RunnerCluster.StartAsync(output, runners: 3, runnerSettings: new Dictionary<string, string> { [CheckoutLedgerEntry.Setting] = "true" });
        try
        {
            var client = cluster.Client!;
            var workflows = client.Workflows;
            var initialStock = await ReadStockAsync(client);
            var random = new Random(20240611);
            var orders = new ConcurrentQueue<PlaceOrder>();
            var starts = new ConcurrentBag<Task>();
            var startFailures = new ConcurrentQueue<string>();

            async Task StartOrdersAsync(TimeSpan duration)
            {
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < duration)
                {
                    var order = NewOrder(random, orders.Count + 1);
                    orders.Enqueue(order);
                    starts.Add(StartAsync(order));
                    await Task.Delay(StartInterval);
                }
            }

            async Task StartAsync(PlaceOrder order)
            {
                try
                {
                    await workflows.StartAsync(Orders.Checkout, order);
                }
                catch (Exception ex)
                {
                    startFailures.Enqueue($"{order.OrderId}: {ex.GetType().Name}: {ex.Message}");
                }
            }

            await StartOrdersAsync(BeforeKill);
            var (victim, victimShards) = cluster.BusiestRunner(WorkflowGroup);
            var victimsOrders = orders.Where(o => client.Sharding.GetOwner(client.Sharding.GetShardId(o.OrderId, WorkflowGroup))?.ToString() == victim.Address)
                .Select(o => o.OrderId).ToHashSet(StringComparer.Ordinal);
            var startedBeforeKill = orders.Count;
            var killedAt = Stopwatch.StartNew();
            victim.Kill();
            report.Line($"started {startedBeforeKill} orders in {BeforeKill.TotalSeconds:0.#} s, then killed {victim.Name} (pid {victim.Pid}, {victimShards} of {RunnerCluster.Shards} workflow shards, " +
                $"{victimsOrders.Count} of the orders) with SIGKILL; lease expiry {ClusterTimings.ShardLockExpiration.TotalSeconds} s");

            var reowned = Task.Run(async () =>
            {
                await cluster.WaitUntilAllShardsOwnedAsync(ReownershipBound + TimeSpan.FromSeconds(30));
                return killedAt.Elapsed;
            });
            await StartOrdersAsync(AfterKill);
            await Task.WhenAll(starts).WaitAsync(ClusterTimings.PersistedCallBound);
            var reownedAfter = await reowned;
            report.Line($"started {orders.Count - startedBeforeKill} more orders in {AfterKill.TotalSeconds:0.#} s after the kill; all {RunnerCluster.Shards} shards of " +
                $"{string.Join(" and ", RunnerCluster.ShardGroups)} owned again {reownedAfter.TotalSeconds:0.00} s after the kill (bound {ReownershipBound.TotalSeconds:0.#} s): " +
                string.Join(", ", await cluster.ShardsOwnedAsync()));
            Assert.Empty(startFailures);

            var confirmations = await WaitForAllAsync(workflows, orders.ToArray(), CompletionBound);
            var completedAfter = killedAt.Elapsed;
            report.Line($"all {orders.Count} checkouts succeeded; the last seen complete {completedAfter.TotalSeconds:0.00} s after the kill");

            // Executing a finished checkout again returns its stored result: same charge, same confirmation time.
            foreach (var order in orders)
            {
                var again = await workflows.ExecuteAsync(Orders.Checkout, order);
                var first = confirmations[order.OrderId];
                Assert.Equal((first.OrderId, first.ChargeId, first.ConfirmedAt, first.Total), (again.OrderId, again.ChargeId, again.ConfirmedAt, again.Total));
            }

            var ledger = await CheckoutLedgerEntry.ReadAsync(cluster.Redis.ConnectionString, cluster.Name);
            var runs = ledger.GroupBy(e => (e.Order, e.Activity)).ToDictionary(g => g.Key, g => g.ToArray());
            var reRun = runs.Where(r => r.Value.Length > 1).ToArray();
            var movedAndCompleted = victimsOrders.Count(id => runs.TryGetValue((id, "confirm"), out var confirms) && confirms[^1].Pid != victim.Pid);
            report.Line($"ledger: {ledger.Count} activity runs; re-run after the kill: {reRun.Count(r => r.Key.Activity == "charge")} charges, {reRun.Count(r => r.Key.Activity == "confirm")} confirms; " +
                $"{movedAndCompleted} of the killed runner's orders confirmed on a survivor; " +
                $"{cluster.LiveRunners.Sum(r => StopTimedOut().Count(r.Log))} workflow entities interrupted on a shard handoff between survivors (see ReownershipBound)" +
                string.Concat(cluster.LiveRunners.SelectMany(r => StopTimedOut().Matches(r.Log)).Select(m => "\n  " + m.Value)));
            foreach (var order in orders)
            {
                var confirmation = confirmations[order.OrderId];
                AssertRanOnceAfterTheKill(runs, order.OrderId, "charge", victim.Pid, confirmation.ChargeId);
                AssertRanOnceAfterTheKill(runs, order.OrderId, "confirm", victim.Pid, confirmation.ConfirmedAt);
            }

            Assert.True(movedAndCompleted > 0, "none of the killed runner's orders was confirmed on a survivor: the kill landed on nothing in flight");

            // Every confirmed order took its stock exactly once (the inventory is idempotent per order id, and no order was released).
            var stock = await ReadStockAsync(client);
            var taken = orders.SelectMany(o => o.Lines).GroupBy(l => l.Sku).ToDictionary(g => g.Key, g => g.Sum(l => l.Quantity), StringComparer.Ordinal);
            report.Line($"stock taken: {string.Join(", ", Skus.Select(s => $"{s.Sku}={initialStock[s.Sku] - stock[s.Sku]} (ordered {taken.GetValueOrDefault(s.Sku)})"))}");
            Assert.All(Skus, s => Assert.Equal(taken.GetValueOrDefault(s.Sku), initialStock[s.Sku] - stock[s.Sku]));
            Assert.True(reownedAfter <= ReownershipBound, $"shards were owned again after {reownedAfter.TotalSeconds:0.00} s, more than {ReownershipBound.TotalSeconds:0.#} s");
            report.Line($"test took {total.Elapsed.TotalSeconds:0.0} s");
        }
        catch
        {
            cluster.WriteLogs();
            throw;
        }
    }

    /// <summary>
    /// The activity ran once, or twice when the first run was on the killed runner and the second on a survivor (at least
    /// once: a run the kill interrupted before its outcome was stored is run again by the next owner); and the stored
    /// result is the last run's, so nothing ran after it was stored.
    /// </summary>
    private static void AssertRanOnceAfterTheKill<T>(Dictionary<(string, string), CheckoutLedgerEntry[]> runs, string orderId, string activity, int killedPid, T stored)
    {
        Assert.True(runs.TryGetValue((orderId, activity), out var recorded), $"{orderId}: no run of {activity} was recorded");
        var described = string.Join(", ", recorded.Select(r => $"pid {r.Pid} -> {r.Result}"));
        Assert.True(recorded.Length == 1 || (recorded.Length == 2 && recorded[0].Pid == killedPid && recorded[1].Pid != killedPid),
            $"{orderId}: {activity} ran again, and not only after an interrupted run on the killed runner (pid {killedPid}): {described}");
        Assert.True(EqualityComparer<T>.Default.Equals(stored, recorded[^1].Result.Deserialize<T>(Json)),
            $"{orderId}: the stored {activity} result {stored} is not that of its last run: {described}");
    }

    private static PlaceOrder NewOrder(Random random, int number)
    {
        var lines = Skus.OrderBy(_ => random.Next()).Take(random.Next(1, 3))
            .Select(s => new OrderLine(s.Sku, random.Next(1, s.MaxQuantity + 1))).ToArray();
        return new PlaceOrder($"order-{number:D4}", lines, SettleSeconds: random.Next(1, 3));
    }

    private static async Task<Dictionary<string, int>> ReadStockAsync(ClientNode client)
    {
        var stock = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (sku, _) in Skus)
        {
            stock[sku] = (await client.Sharding.GetEntity<Inventory>(sku).AskAsync(new GetStock())).Available;
        }

        return stock;
    }

    /// <summary>Polls every order until all have succeeded; a failed one fails the test at once.</summary>
    private static async Task<Dictionary<string, OrderConfirmation>> WaitForAllAsync(IWorkflowClient workflows, PlaceOrder[] orders, TimeSpan timeout)
    {
        var done = new Dictionary<string, OrderConfirmation>(StringComparer.Ordinal);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var order in orders.Where(o => !done.ContainsKey(o.OrderId)))
            {
                var status = await workflows.PollAsync(Orders.Checkout, order.OrderId);
                Assert.NotNull(status);
                Assert.False(status.State == WorkflowState.Failed, $"{order.OrderId} failed: {status.Error?.Message}");
                if (status.State == WorkflowState.Succeeded)
                {
                    Assert.NotNull(status.Result);
                    done[order.OrderId] = status.Result;
                }
            }

            if (done.Count == orders.Length)
            {
                return done;
            }

            Assert.True(deadline.Elapsed < timeout,
                $"{orders.Length - done.Count} checkouts not complete {timeout.TotalSeconds:0} s after the last start: {string.Join(", ", orders.Where(o => !done.ContainsKey(o.OrderId)).Take(20).Select(o => o.OrderId))}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    [GeneratedRegex("Entity Workflow/.* did not stop within[^\n]*")]
    private static partial Regex StopTimedOut();
}
