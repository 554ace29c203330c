using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Tests.Cron;

/// <summary>ClusterCron on three runners over loopback sockets with Redis storage on Garnet.</summary>
public sealed class ClusterCronTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    private readonly ConcurrentQueue<(DateTimeOffset Tick, RunnerAddress? Runner, DateTimeOffset RanAt)> _ticks = new();

    private async Task<TestCluster> StartAsync(string expression)
    {
        var name = $"cron{Guid.NewGuid():N}";
        var lease = TimeSpan.FromSeconds(1.5);
        return await TestCluster.StartAsync(3,
            storage: new RedisRunnerStorage(garnet.Connection, name, lease),
            messages: new RedisMessageStorage(garnet.Connection, name, TimeSpan.FromMinutes(10)),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback(),
            configure: c => c.AddCron("every-second", expression, (tick, _) =>
            {
                _ticks.Enqueue((tick.ScheduledAt, tick.Runner, DateTimeOffset.UtcNow));
                return Task.CompletedTask;
            }));
    }

    [Fact]
    public async Task FiresOncePerTickAcrossThreeRunnersAndAcrossARunnerStop()
    {
        await using var cluster = await StartAsync("* * * * * *");
        await Eventually.True(() => _ticks.Count >= 4, TimeSpan.FromSeconds(15), "four ticks ran");

        var before = _ticks.ToArray();
        for (var i = 1; i < before.Length; i++)
        {
            // One tick per second; a tick that ran more than a second late skips ahead (next from now, Effect's default).
            var gap = before[i].Tick - before[i - 1].Tick;
            Assert.True(gap >= TimeSpan.FromSeconds(1) && gap.Ticks % TimeSpan.TicksPerSecond == 0, $"ticks {gap} apart");
        }

        Assert.Contains(before.Skip(1).Zip(before), pair => pair.First.Tick - pair.Second.Tick == TimeSpan.FromSeconds(1));

        Assert.All(before, t => Assert.True(t.RanAt >= t.Tick, $"tick {t.Tick:O} ran early, at {t.RanAt:O}"));
        var host = cluster.Runners.Single(r => r.Address == before[^1].Runner);
        await cluster.StopRunnerAsync(host);
        var stopped = _ticks.Count;

        await Eventually.True(() => _ticks.Count >= stopped + 3, TimeSpan.FromSeconds(20), "three more ticks ran after the host stopped");
        var all = _ticks.ToArray();
        Assert.Equal(all.Length, all.Select(t => t.Tick).Distinct().Count());
        Assert.All(all.Skip(stopped), t => Assert.NotEqual(host.Address, t.Runner));
        Assert.Equal(all.Select(t => t.Tick).Order(), all.Select(t => t.Tick));
    }

    [Fact]
    public void RejectsAnExpressionThatIsNotCron()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClusterBuilder().AddCron("bad", "every tuesday", (_, _) => Task.CompletedTask));
        Assert.Contains("bad", error.Message, StringComparison.Ordinal);
    }
}
