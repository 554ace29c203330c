using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Persistence;

public sealed class StorageReadScheduleTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);

    [Fact]
    public void WithoutADelayedMessageTheLoopWaitsOnePollInterval() =>
        Assert.Equal(Poll, new StorageReadSchedule(Poll, new ObservedFakeTime()).NextWait());

    [Fact]
    public void ADelayedMessageDueSoonerShortensTheWaitToItsTimePlusTheMargin()
    {
        var time = new ObservedFakeTime();
        var schedule = new StorageReadSchedule(Poll, time);

        schedule.WakeAt(time.GetUtcNow() + TimeSpan.FromSeconds(3));
        schedule.WakeAt(time.GetUtcNow() + TimeSpan.FromSeconds(7));   // later: the earliest wins

        Assert.Equal(TimeSpan.FromSeconds(3) + StorageReadSchedule.DueMargin, schedule.NextWait());
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(1) + StorageReadSchedule.DueMargin, schedule.NextWait());
    }

    [Fact]
    public void APassAfterTheDueTimeServesItAndTheWaitIsThePollIntervalAgain()
    {
        var time = new ObservedFakeTime();
        var schedule = new StorageReadSchedule(Poll, time);
        schedule.WakeAt(time.GetUtcNow() + TimeSpan.FromSeconds(3));

        schedule.BeginPass();   // too early: the message is not due yet
        Assert.Equal(TimeSpan.FromSeconds(3) + StorageReadSchedule.DueMargin, schedule.NextWait());
        time.Advance(TimeSpan.FromSeconds(3) + StorageReadSchedule.DueMargin);
        Assert.Equal(TimeSpan.Zero, schedule.NextWait());
        schedule.BeginPass();

        Assert.Equal(Poll, schedule.NextWait());
    }

    [Fact]
    public void ADueTimeLaterThanThePollDoesNotLengthenTheWait()
    {
        var time = new ObservedFakeTime();
        var schedule = new StorageReadSchedule(Poll, time);

        schedule.WakeAt(time.GetUtcNow() + TimeSpan.FromMinutes(5));

        Assert.Equal(Poll, schedule.NextWait());
    }
}
