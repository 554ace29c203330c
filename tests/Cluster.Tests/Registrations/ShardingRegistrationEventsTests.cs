using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Registrations;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Registrations;

/// <summary>A runner announces the entity types and singletons it registers when it starts; a client registers nothing.</summary>
public sealed class ShardingRegistrationEventsTests
{
    private static ClusterRegistrationEvent[] Expected =>
    [
        new EntityRegistered("Counter", ShardId.DefaultGroup),
        new SingletonRegistered("job", ShardingHash.ShardOf("job", ShardId.DefaultGroup, TestCluster.ShardsPerGroup)),
        new SingletonRegistered(RunnerHealthMonitor.SingletonName,
            ShardingHash.ShardOf(RunnerHealthMonitor.SingletonName, ShardId.DefaultGroup, TestCluster.ShardsPerGroup)),
    ];

    [Fact]
    public async Task SubscribersBeforeAndAfterStartSeeEveryRegistrationOnce()
    {
        await using var cluster = await TestCluster.StartAsync(1, configure: Job);
        await using var runner = cluster.CreateNode(new RunnerAddress($"events-{Guid.NewGuid():N}", 1));
        var early = new RecordingObserver<ClusterRegistrationEvent>();
        using var earlySubscription = runner.RegistrationEvents.Subscribe(early);
        Assert.Empty(early.Received);   // nothing is registered before the runner starts

        await runner.StartAsync();
        var late = new RecordingObserver<ClusterRegistrationEvent>();
        using var lateSubscription = runner.RegistrationEvents.Subscribe(late);

        Assert.Equal(Expected, early.Received);
        Assert.Equal(Expected, late.Received);
        Assert.Equal(new ShardId(ShardId.DefaultGroup, 234), ((SingletonRegistered)late.Received.Last()).Shard);   // as in Effect (spec test vector)
    }

    [Fact]
    public async Task DisposingTheRunnerCompletesTheEventsOfStillSubscribedObserversOnly()
    {
        await using var cluster = await TestCluster.StartAsync(1, configure: Job);
        var runner = cluster.CreateNode(new RunnerAddress($"events-{Guid.NewGuid():N}", 1));
        await runner.StartAsync();
        var subscribed = new RecordingObserver<ClusterRegistrationEvent>();
        var unsubscribed = new RecordingObserver<ClusterRegistrationEvent>();
        using var subscription = runner.RegistrationEvents.Subscribe(subscribed);
        runner.RegistrationEvents.Subscribe(unsubscribed).Dispose();

        await runner.DisposeAsync();

        Assert.True(subscribed.Completed);
        Assert.False(unsubscribed.Completed);
    }

    [Fact]
    public async Task AClientOnlyNodeRegistersNothing()
    {
        await using var cluster = await TestCluster.StartAsync(1, configure: Job);
        var observer = new RecordingObserver<ClusterRegistrationEvent>();

        using var subscription = cluster.Client.RegistrationEvents.Subscribe(observer);

        Assert.Empty(observer.Received);
    }

    private static void Job(ClusterBuilder builder) =>
        builder.AddSingletonJob("job", (_, stop) => Task.Delay(Timeout.Infinite, stop));
}
