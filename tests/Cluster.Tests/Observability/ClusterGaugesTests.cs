using System.Diagnostics.Metrics;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Observability;

/// <summary>The observable gauges <c>cluster.runners</c> (by health) and <c>cluster.singletons</c>, per runner.</summary>
public sealed class ClusterGaugesTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task RunnersAreCountedByHealthAsEachRunnerSeesThem()
    {
        var host = $"gauges-{Guid.NewGuid():N}";
        // The health check (a singleton on one of the runners) decides health: it reports a runner dead once
        // asked to, and a runner marked unhealthy behind its back would be marked healthy again by its next check.
        var dead = new System.Collections.Concurrent.ConcurrentDictionary<RunnerAddress, byte>();
        await using var cluster = await TestCluster.StartAsync(3, addresses: i => new RunnerAddress(host, i),
            tweak: o => o.RunnerHealthCheckInterval = TimeSpan.FromMilliseconds(50), health: _ => new ScriptedRunnerHealth { Dead = dead });
        var observer = cluster.Runners[0].Address!.Value.ToString();

        await Eventually.True(() => Read("cluster.runners", observer, healthy: true) == 3 && Read("cluster.runners", observer, healthy: false) == 0,
            Timeout, "the observing runner counts three healthy runners");

        // The checker never checks itself: report one of the others dead.
        await Eventually.True(() => cluster.Runners.Any(r => r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName)), Timeout, "the health check runs");
        var silent = cluster.Runners.First(r => !r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName));
        observer = cluster.Runners.First(r => r != silent).Address!.Value.ToString();
        dead.TryAdd(silent.Address!.Value, 0);

        await Eventually.True(() => Read("cluster.runners", observer, healthy: true) == 2 && Read("cluster.runners", observer, healthy: false) == 1,
            Timeout, () => $"the observing runner counts two healthy runners and one unhealthy (healthy {Read("cluster.runners", observer, true)}, unhealthy {Read("cluster.runners", observer, false)})");
    }

    [Fact]
    public async Task SingletonsAreCountedOnTheRunnerRunningThem()
    {
        var host = $"gauges-{Guid.NewGuid():N}";
        await using var cluster = await TestCluster.StartAsync(2, addresses: i => new RunnerAddress(host, i),
            configure: c => c.AddSingletonJob("counted", (_, stop) => Task.Delay(System.Threading.Timeout.Infinite, stop)));
        await Eventually.True(() => cluster.Runners.Sum(r => r.RunningSingletons.Count) == 2, Timeout, "the job and the health check run");

        var counts = cluster.Runners.ToDictionary(r => r, r => Read("cluster.singletons", r.Address!.Value.ToString()));

        Assert.All(cluster.Runners, r => Assert.Equal(r.RunningSingletons.Count, counts[r]));
        Assert.Equal(2, counts.Values.Sum());
        var checker = cluster.Runners.Single(r => r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName));
        Assert.True(counts[checker] >= 1);
    }

    /// <summary>The last value the gauge reports for <paramref name="runner"/> (and health, when given); -1 when none.</summary>
    private static int Read(string instrument, string runner, bool? healthy = null)
    {
        var value = -1;
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == ClusterDiagnostics.Name && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, measurement, tags, _) =>
        {
            string? measuredRunner = null;
            bool? measuredHealthy = null;
            foreach (var tag in tags)
            {
                if (tag.Key == ClusterDiagnostics.RunnerTag)
                {
                    measuredRunner = tag.Value as string;
                }
                else if (tag.Key == ClusterDiagnostics.RunnerHealthyTag)
                {
                    measuredHealthy = tag.Value as bool?;
                }
            }

            if (measuredRunner == runner && measuredHealthy == healthy)
            {
                value = measurement;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }
}
