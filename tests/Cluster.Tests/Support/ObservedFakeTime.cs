using Microsoft.Extensions.Time.Testing;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// A fake clock that tells when code under test starts a timer on it: advancing the clock before a loop has armed its
/// next wait would be lost, so tests wait for <see cref="TimerStartedAsync"/> instead of sleeping.
/// </summary>
public sealed class ObservedFakeTime : FakeTimeProvider
{
    private readonly SemaphoreSlim _timers = new(0);

    public ObservedFakeTime()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timers.Release();
        return timer;
    }

    /// <summary>Waits until a timer is started (one not yet awaited by an earlier call).</summary>
    public async Task TimerStartedAsync()
    {
        if (!await _timers.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException("No timer was started on the fake clock within 10 s.");
        }
    }
}
