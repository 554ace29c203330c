using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Singletons;

public sealed class SingletonTests
{
    private readonly Lock _gate = new();
    private readonly List<(RunnerAddress Runner, DateTimeOffset At)> _starts = [];
    private int _running;
    private int _maxRunning;

    private async Task Leader(SocketRunnerAspire.Cluster.Singletons.SingletonContext context, CancellationToken stop)
    {
        lock (_gate)
        {
            _starts.Add((context.Runner, DateTimeOffset.UtcNow));
            _maxRunning = Math.Max(_maxRunning, ++_running);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        finally
        {
            lock (_gate)
            {
                _running--;
            }
        }
    }

    private int StartCount()
    {
        lock (_gate)
        {
            return _starts.Count;
        }
    }

    private Sharding[] Hosts(TestCluster cluster) => cluster.Runners.Where(r => r.RunningSingletons.Contains("leader")).ToArray();

    [Fact]
    public async Task RunsOnceOnTheOwnerOfItsShardAndMovesWhenThatRunnerStops()
    {
        await using var cluster = await TestCluster.StartAsync(3, configure: c => c.AddSingletonJob("leader", Leader));
        await Eventually.True(() => Hosts(cluster).Length == 1, TimeSpan.FromSeconds(10), "one runner runs the singleton");
        var host = Hosts(cluster).Single();
        Assert.Equal(cluster.Client.GetOwner(cluster.Client.GetShardId("leader")), host.Address);
        var starts = StartCount();

        await cluster.StopRunnerAsync(host);

        // A runner lists the singleton as running a moment before its delegate has recorded the start.
        await Eventually.True(() => Hosts(cluster).Length == 1 && StartCount() > starts, TimeSpan.FromSeconds(10), "another runner runs the singleton");
        lock (_gate)
        {
            Assert.Equal(starts + 1, _starts.Count);
            Assert.NotEqual(host.Address, _starts[^1].Runner);
            Assert.Equal(1, _maxRunning);   // also while runners joined and the shard moved at start-up
            Assert.Equal(1, _running);
        }
    }

    [Fact]
    public async Task MovesAfterItsRunnerCrashesOnlyOnceTheLeaseExpired()
    {
        await using var cluster = await TestCluster.StartAsync(3, configure: c => c.AddSingletonJob("leader", Leader));
        await Eventually.True(() => Hosts(cluster).Length == 1, TimeSpan.FromSeconds(10), "one runner runs the singleton");
        var host = Hosts(cluster).Single();
        var starts = StartCount();
        var crashedAt = DateTimeOffset.UtcNow;

        await cluster.CrashRunnerAsync(host);

        await Eventually.True(() => Hosts(cluster).Length == 1 && StartCount() == starts + 1, TimeSpan.FromSeconds(15), "another runner runs the singleton");
        lock (_gate)
        {
            Assert.NotEqual(host.Address, _starts[^1].Runner);
            Assert.True(_starts[^1].At - crashedAt >= cluster.Options(null).ShardLockExpiration - TimeSpan.FromMilliseconds(300),
                $"restarted {_starts[^1].At - crashedAt} after the crash, before the lease could expire");
        }
    }

    [Fact]
    public async Task AFailingJobIsRestartedWithBackOff()
    {
        var attempts = new List<DateTimeOffset>();
        await using var cluster = await TestCluster.StartAsync(2, configure: c => c.AddSingletonJob("flaky", async (_, stop) =>
        {
            lock (attempts)
            {
                attempts.Add(DateTimeOffset.UtcNow);
                if (attempts.Count < 3)
                {
                    throw new InvalidOperationException("boom");
                }
            }

            await Task.Delay(Timeout.Infinite, stop);
        }));

        await Eventually.True(() => { lock (attempts) { return attempts.Count == 3; } }, TimeSpan.FromSeconds(10), "the job ran a third time");
        lock (attempts)
        {
            Assert.True(attempts[1] - attempts[0] >= TimeSpan.FromSeconds(0.95), $"first restart after {attempts[1] - attempts[0]}");
            Assert.True(attempts[2] - attempts[1] >= TimeSpan.FromSeconds(1.95), $"second restart after {attempts[2] - attempts[1]}");
        }
    }
}
