using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// When the owner's storage read loop runs next: every message poll interval, at once when someone says storage has
/// something (a Notify, a local save, an interrupt), and at the earliest delivery time it was told of, so a delayed
/// message is read at its time rather than at the next poll.
/// </summary>
internal sealed class StorageReadSchedule(TimeSpan pollInterval, TimeProvider time)
{
    /// <summary>How long after its delivery time a delayed message is read, so that clocks a little apart agree it is due.</summary>
    public static readonly TimeSpan DueMargin = TimeSpan.FromMilliseconds(25);

    // The earliest DeliverAt this runner was told about (Unix ms); long.MaxValue when none.
    private long _nextDueMs = long.MaxValue;

    /// <summary>What wakes the loop.</summary>
    public WakeSignal Signal { get; } = new();

    /// <summary>Read storage now.</summary>
    public void WakeNow() => Signal.Set();

    /// <summary>Read storage now and, for a delayed message, again at <paramref name="due"/>.</summary>
    public void WakeAt(DateTimeOffset? due)
    {
        if (due is { } at)
        {
            var ms = at.ToUnixTimeMilliseconds();
            for (var current = Interlocked.Read(ref _nextDueMs); ms < current; current = Interlocked.Read(ref _nextDueMs))
            {
                if (Interlocked.CompareExchange(ref _nextDueMs, ms, current) == current)
                {
                    break;
                }
            }
        }

        Signal.Set();
    }

    /// <summary>A pass is starting: a due time it reaches is served by it and forgotten.</summary>
    public void BeginPass()
    {
        var due = Interlocked.Read(ref _nextDueMs);
        if (due <= time.GetUtcNow().ToUnixTimeMilliseconds() - DueMargin.TotalMilliseconds)
        {
            Interlocked.CompareExchange(ref _nextDueMs, long.MaxValue, due);
        }
    }

    /// <summary>Until the next pass: the poll interval, or less when a delayed message falls due sooner.</summary>
    public TimeSpan NextWait()
    {
        var due = Interlocked.Read(ref _nextDueMs);
        if (due == long.MaxValue)
        {
            return pollInterval;
        }

        var untilDue = DateTimeOffset.FromUnixTimeMilliseconds(due) + DueMargin - time.GetUtcNow();
        return untilDue <= TimeSpan.Zero ? TimeSpan.Zero : untilDue < pollInterval ? untilDue : pollInterval;
    }
}
