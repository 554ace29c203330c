using SocketRunnerAspire.Cluster.Addressing;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Registrations;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Registrations;

/// <summary>The replaying observable behind <see cref="Sharding.RegistrationEvents"/>.</summary>
public sealed class RegistrationEventLogTests
{
    private static readonly EntityRegistered First = new("First", ShardId.DefaultGroup);
    private static readonly EntityRegistered Second = new("Second", ShardId.DefaultGroup);

    [Fact]
    public void ALateSubscriberGetsTheEarlierEventsThenTheNewOnesEachOnce()
    {
        var log = new RegistrationEventLog(NullLogger.Instance);
        log.Publish(First);
        var observer = new RecordingObserver<ClusterRegistrationEvent>();

        using var subscription = log.Subscribe(observer);
        log.Publish(Second);

        Assert.Equal([First, Second], observer.Received);
    }

    [Fact]
    public void AnUnsubscribedObserverReceivesNothingMore()
    {
        var log = new RegistrationEventLog(NullLogger.Instance);
        var observer = new RecordingObserver<ClusterRegistrationEvent>();
        var subscription = log.Subscribe(observer);
        log.Publish(First);

        subscription.Dispose();
        subscription.Dispose();
        log.Publish(Second);
        log.Complete();

        Assert.Equal([First], observer.Received);
        Assert.False(observer.Completed);
    }

    [Fact]
    public void CompletingTellsSubscribersOnceAndLaterOnesAfterTheReplay()
    {
        var log = new RegistrationEventLog(NullLogger.Instance);
        var early = new RecordingObserver<ClusterRegistrationEvent>();
        using var subscription = log.Subscribe(early);
        log.Publish(First);

        log.Complete();
        log.Complete();
        log.Publish(Second);
        var late = new RecordingObserver<ClusterRegistrationEvent>();
        using var lateSubscription = log.Subscribe(late);

        Assert.Equal(1, early.CompletedCount);
        Assert.Equal([First], late.Received);
        Assert.Equal(1, late.CompletedCount);
    }

    [Fact]
    public void AnObserverThatThrowsDoesNotKeepTheOthersFromTheEvent()
    {
        var log = new RegistrationEventLog(NullLogger.Instance);
        using var throwing = log.Subscribe(new ThrowingObserver());
        var observer = new RecordingObserver<ClusterRegistrationEvent>();
        using var subscription = log.Subscribe(observer);

        log.Publish(First);

        Assert.Equal([First], observer.Received);
    }

    private sealed class ThrowingObserver : IObserver<ClusterRegistrationEvent>
    {
        public void OnNext(ClusterRegistrationEvent value) => throw new InvalidOperationException("observer bug");

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
