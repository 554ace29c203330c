using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Runners;

/// <summary>
/// The health check is a singleton (one runner runs it, the next owner of its shard takes over), asks the configured
/// <see cref="IRunnerHealth"/> about the other runners, drops the dead ones from the ring and never the last healthy one.
/// </summary>
public sealed class RunnerHealthMonitorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static RunnerInfo Runner(int port) => new(new RunnerAddress("health", port), [ShardId.DefaultGroup], 1);

    private static void FastChecks(ShardingOptions o) => o.RunnerHealthCheckInterval = TimeSpan.FromMilliseconds(50);

    private static Sharding[] Checkers(TestCluster cluster) =>
        [.. cluster.Runners.Where(r => r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName))];

    [Fact]
    public async Task OnlyTheOwnerOfTheHealthCheckShardChecksAndAnotherTakesOverWhenItStops()
    {
        var healths = new ConcurrentDictionary<RunnerAddress, ScriptedRunnerHealth>();
        await using var cluster = await TestCluster.StartAsync(3, tweak: FastChecks, health: a => healths.GetOrAdd(a, _ => new ScriptedRunnerHealth()));
        await Eventually.True(() => Checkers(cluster).Length == 1, Timeout, "one runner runs the health check");
        var checker = Checkers(cluster).Single();
        Assert.Equal(cluster.Client.GetOwner(cluster.Client.GetShardId(RunnerHealthMonitor.SingletonName)), checker.Address);
        // While runners joined, the first one held every shard and checked: count from the stable cluster on.
        var others = cluster.Runners.Where(r => r != checker).ToDictionary(r => r, r => healths[r.Address!.Value].Checks);
        var checks = healths[checker.Address!.Value].Checks;
        await Eventually.True(() => healths[checker.Address!.Value].Checks >= checks + 10, Timeout, "the checker checks every interval");

        Assert.All(others, r => Assert.Equal(r.Value, healths[r.Key.Address!.Value].Checks));
        Assert.DoesNotContain(checker.Address!.Value, healths[checker.Address!.Value].Asked);   // it does not check itself

        await cluster.StopRunnerAsync(checker);

        await Eventually.True(() => Checkers(cluster).Length == 1 && healths[Checkers(cluster)[0].Address!.Value].Checks > 0, Timeout,
            "another runner runs the health check");
        Assert.NotEqual(checker.Address, Checkers(cluster).Single().Address);
    }

    [Fact]
    public async Task ARunnerItsHealthReportsDeadIsMarkedUnhealthyAndLeavesTheRing()
    {
        var dead = new ConcurrentDictionary<RunnerAddress, byte>();
        await using var cluster = await TestCluster.StartAsync(3, tweak: FastChecks, health: _ => new ScriptedRunnerHealth { Dead = dead });
        await Eventually.True(() => Checkers(cluster).Length == 1, Timeout, "one runner runs the health check");
        var victim = cluster.Runners.First(r => r != Checkers(cluster)[0]);

        dead[victim.Address!.Value] = 0;

        await Eventually.True(() => cluster.Client.Runners.Any(r => r.Runner.Address == victim.Address && !r.Healthy), Timeout,
            "the runner reported dead is marked unhealthy");
        await Eventually.True(() => Enumerable.Range(1, TestCluster.ShardsPerGroup).All(i => cluster.Client.GetOwner(new ShardId(ShardId.DefaultGroup, i)) != victim.Address),
            Timeout, "it drops out of the ring");

        dead.TryRemove(victim.Address!.Value, out _);

        await Eventually.True(() => cluster.Client.Runners.All(r => r.Healthy), Timeout, "answering again, it is marked healthy again");
    }

    [Fact]
    public async Task EveryOtherRunnerDeadLeavesTheCheckerAsTheOneHealthyRunner()
    {
        var (storage, _, monitor, _) = await MonitorAsync(34431, (34431, true), (34432, true), (34433, true));

        await monitor.CheckOnceAsync(Runner(34431).Address, CancellationToken.None);

        var runners = await storage.GetRunnersAsync(CancellationToken.None);
        Assert.Equal([34431], runners.Where(r => r.Healthy).Select(r => r.Runner.Address.Port));
    }

    [Fact]
    public async Task NeverMarksTheLastHealthyRunnerUnhealthy()
    {
        // The checker itself is marked unhealthy (by the previous checker, say): the one other runner is the last healthy one.
        var (storage, _, monitor, health) = await MonitorAsync(34431, (34431, false), (34432, true));

        await monitor.CheckOnceAsync(Runner(34431).Address, CancellationToken.None);

        Assert.Equal(1, health.Checks);
        var runners = await storage.GetRunnersAsync(CancellationToken.None);
        Assert.True(runners.Single(r => r.Runner.Address.Port == 34432).Healthy);
    }

    [Fact]
    public async Task ChecksNothingWhileOnlyOneRunnerIsKnown()
    {
        // Storage lost the checker's own registration (it registers again on its next refresh): one runner is known.
        var (_, _, monitor, health) = await MonitorAsync(34431, (34432, true));

        await monitor.CheckOnceAsync(Runner(34431).Address, CancellationToken.None);

        Assert.Equal(0, health.Checks);
    }

    /// <summary>A monitor for the runner on <paramref name="self"/> over in-memory storage holding <paramref name="runners"/>, every other runner reported dead.</summary>
    private static async Task<(InMemoryRunnerStorage Storage, RunnerMembership Membership, RunnerHealthMonitor Monitor, ScriptedRunnerHealth Health)> MonitorAsync(
        int self, params (int Port, bool Healthy)[] runners)
    {
        var options = new ShardingOptions { ShardsPerGroup = 30 };
        var storage = new InMemoryRunnerStorage(TimeSpan.FromMinutes(1));
        foreach (var (port, healthy) in runners)
        {
            await storage.RegisterAsync(Runner(port), healthy, CancellationToken.None);
        }

        var membership = new RunnerMembership(options, storage, new InMemoryRunnerTransport(), self: null, TimeProvider.System, NullLogger.Instance);
        await membership.SyncOnceAsync();
        var health = new ScriptedRunnerHealth();
        foreach (var (port, _) in runners.Where(r => r.Port != self))
        {
            health.Dead[Runner(port).Address] = 0;
        }

        return (storage, membership, new RunnerHealthMonitor(options, storage, health, membership, TimeProvider.System, NullLogger.Instance), health);
    }
}
