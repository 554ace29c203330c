namespace SocketRunnerAspire.Cluster.Timing;

/// <summary>
/// A cancellation token that fires after a timeout on the runtime's clock (<see cref="TimeProvider"/>, so tests can
/// use a fake one), optionally also with a caller's token. Dispose it when the bounded call is done.
/// </summary>
internal readonly struct TimeoutScope : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly ITimer? _timer;

    private TimeoutScope(CancellationTokenSource source, ITimer? timer)
    {
        _source = source;
        _timer = timer;
    }

    public CancellationToken Token => _source.Token;

    public static TimeoutScope Start(TimeSpan timeout, TimeProvider time, CancellationToken linked = default)
    {
        var source = linked.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(linked) : new CancellationTokenSource();
        if (ReferenceEquals(time, TimeProvider.System))
        {
            source.CancelAfter(timeout);
            return new TimeoutScope(source, null);
        }

        var timer = time.CreateTimer(static state => CancelQuietly((CancellationTokenSource)state!), source, timeout, Timeout.InfiniteTimeSpan);
        return new TimeoutScope(source, timer);
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _source.Dispose();
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call finished as the timer fired.
        }
    }
}
