using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Three runners and a client-only node, each with its own socket transport (as separate processes would
/// have), over real loopback sockets, coordinating through Redis RunnerStorage on Garnet.
/// </summary>
public sealed class SocketClusterTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    private static readonly string[] EntityIds = Enumerable.Range(1, 1000).Select(i => $"entity-{i}").ToArray();

    public static TheoryData<string> Kinds => new() { "tcp", "unix" };

    private Task<TestCluster> StartAsync(string kind, int runners = 3, Action<EntityDefinition<CounterEntity, CounterEntity>>? entity = null, Action<SocketRunnerAspire.Cluster.Configuration.ShardingOptions>? tweak = null) => TestCluster.StartAsync(runners,
        tweak: tweak,
        entity: entity,
        storage: new RedisRunnerStorage(garnet.Connection, $"c{Guid.NewGuid():N}", TimeSpan.FromSeconds(1.5)),
        transports: () => new SocketRunnerTransport(),
        addresses: _ => kind == "tcp" ? FreePort.Loopback() : FreePort.UnixSocket());

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task AThousandEntitiesAreEachAnsweredByTheirOwner(string kind)
    {
        await using var cluster = await StartAsync(kind);

        var answers = await Task.WhenAll(EntityIds.Select(async id =>
            (Id: id, Runner: await cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI()))));

        foreach (var (id, runner) in answers)
        {
            Assert.Equal(cluster.Client.GetOwner(cluster.Client.GetShardId(id)).ToString(), runner);
        }

        Assert.Equal(3, answers.Select(a => a.Runner).Distinct().Count());
        Assert.Equal(1000, cluster.Runners.Sum(r => r.ActiveEntities("Counter")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task StreamsCancellationAndTypedErrorsCrossTheSocket(string kind)
    {
        await using var cluster = await StartAsync(kind);
        var counter = cluster.Client.GetEntity<CounterEntity>("remote");

        var items = new List<int>();
        await foreach (var item in counter.StreamAsync(new CountTo(100)))
        {
            items.Add(item);
        }

        Assert.Equal(Enumerable.Range(1, 100), items);

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => counter.AskAsync(new Fail("remote boom")));
        Assert.Equal(typeof(InvalidOperationException).FullName, error.ErrorType);
        Assert.Contains("remote boom", error.Message, StringComparison.Ordinal);

        using var cts = new CancellationTokenSource();
        var held = counter.AskAsync(new Hold("socket"), cts.Token);
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
        Assert.Equal("socket", await cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task MailboxFullIsTypedAcrossTheSocket()
    {
        await using var cluster = await StartAsync("tcp", runners: 1, entity: e => e.WithMailboxCapacity(1));
        var counter = cluster.Client.GetEntity<CounterEntity>("full");

        var held = counter.AskAsync(new Hold("m"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        var error = await Assert.ThrowsAsync<MailboxFullException>(() => counter.AskAsync(new Increment(1)));
        Assert.Equal(counter.Address, error.Address);
        cluster.Probe.Open("m");
        await held;
    }

    [Fact]
    public async Task EntityCapacityExceededIsTypedAcrossTheSocket()
    {
        await using var cluster = await StartAsync("tcp", runners: 1, tweak: o => o.MaxResidentEntities = 1);
        var held = cluster.Client.GetEntity<CounterEntity>("resident").AskAsync(new Hold("cap"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        var other = cluster.Client.GetEntity<CounterEntity>("no-room");

        var error = await Assert.ThrowsAsync<EntityCapacityExceededException>(() => other.AskAsync(new Increment(1)));
        Assert.Equal(other.Address, error.Address);
        cluster.Probe.Open("cap");
        await held;
    }

    [Fact]
    public async Task GracefulStopMovesShardsWithoutFailedCalls()
    {
        await using var cluster = await StartAsync("tcp");
        var leaving = cluster.Runners[2];

        using var load = new CancellationTokenSource();
        var failures = new List<Exception>();
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
                catch (Exception ex)
                {
                    lock (failures)
                    {
                        failures.Add(ex);
                    }
                }
            }
        });

        await Eventually.True(() => Volatile.Read(ref calls) >= 50, TimeSpan.FromSeconds(10), "traffic flows before the stop");
        await cluster.StopRunnerAsync(leaving);
        await cluster.WaitUntilStableAsync();
        await load.CancelAsync();
        await traffic;

        Assert.Empty(failures);
        Assert.All(cluster.Runners, r => Assert.Equal(150, r.OwnedShards.Count));
    }

    [Fact]
    public async Task KilledRunnersShardsMoveAfterLeaseExpiry()
    {
        await using var cluster = await StartAsync("tcp");
        var victim = cluster.Runners[0];
        var id = EntityIds.First(e => cluster.Client.GetOwner(cluster.Client.GetShardId(e)) == victim.Address);

        await cluster.CrashRunnerAsync(victim);   // socket closed, no unregister, no lease release

        var runner = await cluster.Client.GetEntity<CounterEntity>(id).AskAsync(new WhereAmI());
        Assert.NotEqual(victim.Address.ToString(), runner);
        await cluster.WaitUntilStableAsync();
    }

    [Fact]
    public async Task ARunnerThatStopsAnsweringPingsIsMarkedUnhealthyAndLeavesTheRing()
    {
        await using var cluster = await TestCluster.StartAsync(3,
            tweak: o =>
            {
                o.ShardLockExpiration = TimeSpan.FromSeconds(30);   // its registration and leases outlive the test
                o.RunnerHealthCheckInterval = TimeSpan.FromMilliseconds(250);
                o.PingTimeout = TimeSpan.FromSeconds(3);           // generous: a busy test machine must not look dead
                o.PingRetryInterval = TimeSpan.FromMilliseconds(100); // a stopped runner refuses at once, so it is found fast
            },
            storage: new RedisRunnerStorage(garnet.Connection, $"c{Guid.NewGuid():N}", TimeSpan.FromSeconds(30)),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback());
        await Eventually.True(() => cluster.Runners.Any(r => r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName)),
            TimeSpan.FromSeconds(10), "a runner runs the health check");
        var silent = cluster.Runners.First(r => !r.RunningSingletons.Contains(RunnerHealthMonitor.SingletonName));

        await cluster.CrashRunnerAsync(silent);   // stops answering; still registered with a live heartbeat window

        await Eventually.True(() => cluster.Client.Runners.Any(r => r.Runner.Address == silent.Address && !r.Healthy),
            TimeSpan.FromSeconds(15), "the silent runner is marked unhealthy");
        await Eventually.True(() => Enumerable.Range(1, 300).All(i => cluster.Client.GetOwner(new ShardId("default", i)) != silent.Address),
            TimeSpan.FromSeconds(15), "the silent runner drops out of the ring");
        await Eventually.True(() => cluster.Runners.All(r => r.Runners.Count(x => x.Healthy) == 2),
            TimeSpan.FromSeconds(15), "every live runner sees two healthy runners");
    }
}
