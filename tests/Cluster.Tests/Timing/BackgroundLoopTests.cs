using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Tests.Timing;

public sealed class BackgroundLoopTests
{
    [Fact]
    public async Task RunsAtOnceThenEveryIntervalOfItsClock()
    {
        var time = new ObservedFakeTime();
        var runs = 0;
        var ran = new SemaphoreSlim(0);
        var loop = new BackgroundLoop(() => { Interlocked.Increment(ref runs); ran.Release(); return Task.CompletedTask; },
            () => TimeSpan.FromSeconds(10), time, _ => { });
        using var stop = new CancellationTokenSource();
        var running = loop.Start(stop.Token);

        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)));
        await time.TimerStartedAsync();
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(await ran.WaitAsync(TimeSpan.FromMilliseconds(100)), "ran before its interval passed");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)), "did not run once its interval passed");
        Assert.Equal(2, Volatile.Read(ref runs));

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task WakeRunsTheStepWithoutWaitingForTheInterval()
    {
        var time = new ObservedFakeTime();
        var ran = new SemaphoreSlim(0);
        var loop = new BackgroundLoop(() => { ran.Release(); return Task.CompletedTask; }, () => TimeSpan.FromHours(1), time, _ => { });
        using var stop = new CancellationTokenSource();
        var running = loop.Start(stop.Token);
        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)));

        loop.Wake();

        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)), "a wake did not run the step");
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AFailingStepIsReportedAndTheLoopGoesOn()
    {
        var time = new ObservedFakeTime();
        var failures = new List<Exception>();
        var ran = new SemaphoreSlim(0);
        var attempt = 0;
        var loop = new BackgroundLoop(() =>
        {
            ran.Release();
            return ++attempt == 1 ? throw new InvalidOperationException("storage down") : Task.CompletedTask;
        }, () => TimeSpan.FromSeconds(1), time, ex => { lock (failures) { failures.Add(ex); } });
        using var stop = new CancellationTokenSource();
        var running = loop.Start(stop.Token);
        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)));

        loop.Wake();

        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(5)), "the loop stopped after a failing step");
        lock (failures)
        {
            Assert.Equal("storage down", Assert.Single(failures).Message);
        }

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
