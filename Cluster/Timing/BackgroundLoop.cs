namespace SocketRunnerAspire.Cluster.Timing;

/// <summary>
/// Runs a step now, then every interval or as soon as its <see cref="WakeSignal"/> is set, until stopped. A step that
/// throws is reported and the loop goes on: background work must outlive a storage outage.
/// </summary>
internal sealed class BackgroundLoop(Func<Task> step, Func<TimeSpan> interval, TimeProvider time, Action<Exception> onFailure, WakeSignal? wake = null)
{
    private readonly WakeSignal _wake = wake ?? new WakeSignal();

    /// <summary>Runs the step again now (or right after the current run).</summary>
    public void Wake() => _wake.Set();

    /// <summary>Starts the loop on the thread pool; the task ends once <paramref name="stopping"/> is cancelled.</summary>
    public Task Start(CancellationToken stopping) => Task.Run(async () =>
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await step().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                onFailure(ex);
            }

            try
            {
                await _wake.WaitAsync(interval(), time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }, CancellationToken.None);
}
