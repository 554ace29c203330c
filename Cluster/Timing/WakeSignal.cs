namespace SocketRunnerAspire.Cluster.Timing;

/// <summary>Wakes a <see cref="BackgroundLoop"/> before its interval ends; wakes that come while it runs coalesce into one.</summary>
internal sealed class WakeSignal
{
    private readonly SemaphoreSlim _signal = new(0);

    public void Set()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>Waits for <see cref="Set"/> or until <paramref name="timeout"/> has passed on <paramref name="time"/>'s clock.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero)
        {
            _signal.Wait(0, CancellationToken.None);   // consume a pending wake, as a full wait would
            return;
        }

        if (ReferenceEquals(time, TimeProvider.System))
        {
            await _signal.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = _signal.WaitAsync(either.Token);
        var elapsed = Task.Delay(timeout, time, either.Token);
        await Task.WhenAny(woken, elapsed).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
