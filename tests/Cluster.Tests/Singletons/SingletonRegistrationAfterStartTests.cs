using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Registrations;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Singletons;

/// <summary><see cref="Sharding.RegisterSingleton"/>: a singleton added to running runners (Effect's <c>registerSingleton</c>).</summary>
public sealed class SingletonRegistrationAfterStartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private int _firstRuns;
    private int _secondRuns;

    private async Task First(SingletonContext context, CancellationToken stop)
    {
        Interlocked.Increment(ref _firstRuns);
        await Task.Delay(System.Threading.Timeout.Infinite, stop);
    }

    private async Task Second(SingletonContext context, CancellationToken stop)
    {
        Interlocked.Increment(ref _secondRuns);
        await Task.Delay(System.Threading.Timeout.Infinite, stop);
    }

    [Fact]
    public async Task ItRunsOnTheOwnerOfItsShardOnlyAndEveryRunnerAnnouncesIt()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var observers = cluster.Runners.Select(_ => new RecordingObserver<ClusterRegistrationEvent>()).ToArray();
        var subscriptions = cluster.Runners.Select((r, i) => r.RegistrationEvents.Subscribe(observers[i])).ToArray();

        foreach (var runner in cluster.Runners)
        {
            runner.RegisterSingleton("late", First);
        }

        await Eventually.True(() => Volatile.Read(ref _firstRuns) == 1, Timeout, "the singleton runs");
        var host = Assert.Single(cluster.Runners, r => r.RunningSingletons.Contains("late"));
        Assert.Equal(cluster.Client.GetOwner(cluster.Client.GetShardId("late")), host.Address);
        var announced = new SingletonRegistered("late", cluster.Client.GetShardId("late"));
        Assert.All(observers, o => Assert.Single(o.Received, e => e.Equals(announced)));
        Assert.All(subscriptions, s => s.Dispose());
    }

    [Fact]
    public async Task ANameRegisteredAlreadyIsATypedErrorAndTheFirstStands()
    {
        await using var cluster = await TestCluster.StartAsync(1, configure: c => c.AddSingletonJob("job", (_, stop) => Task.Delay(System.Threading.Timeout.Infinite, stop)));
        var runner = cluster.Runners[0];
        runner.RegisterSingleton("late", First);
        var events = new RecordingObserver<ClusterRegistrationEvent>();
        using var subscription = runner.RegistrationEvents.Subscribe(events);
        var before = events.Received.Count;

        var twice = Assert.Throws<AlreadyRegisteredException>(() => runner.RegisterSingleton("late", Second));
        Assert.Throws<AlreadyRegisteredException>(() => runner.RegisterSingleton("job", Second));

        Assert.Equal("late", twice.Name);
        await Eventually.True(() => Volatile.Read(ref _firstRuns) == 1 && runner.RunningSingletons.Contains("late"), Timeout, "the first registration runs");
        Assert.Equal(0, Volatile.Read(ref _secondRuns));
        Assert.Equal(before, events.Received.Count);
    }

    [Fact]
    public async Task AClientOnlyNodeIgnoresIt()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var events = new RecordingObserver<ClusterRegistrationEvent>();
        using var subscription = cluster.Client.RegistrationEvents.Subscribe(events);

        cluster.Client.RegisterSingleton("late", First);
        cluster.Client.RegisterSingleton("late", First);

        Assert.Empty(events.Received);
        Assert.Empty(cluster.Client.RunningSingletons);
        Assert.DoesNotContain("late", cluster.Runners[0].RunningSingletons);
    }
}
