using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// Waits for the final replies of persisted requests whose owner the sender cannot follow directly (owner
/// unknown, unreachable or moving, duplicates, delayed messages): one loop polls storage for all of them every
/// reply poll interval, in batches, while anyone waits. Replies saved in this process complete waiters at once.
/// </summary>
internal sealed class ReplyPoller(IMessageStorage storage, TimeSpan interval, TimeSpan storageTimeout, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private const int BatchSize = 512;
    private readonly Dictionary<long, Waiter> _waiting = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task _loop = Task.CompletedTask;
    private bool _polling;

    /// <summary>The final reply of <paramref name="requestId"/>.</summary>
    public async Task<PersistedReply> WaitAsync(long requestId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Waiter? waiter;
        lock (_gate)
        {
            if (_waiting.TryGetValue(requestId, out waiter))
            {
                waiter.Count++;
            }
            else
            {
                _waiting.Add(requestId, waiter = new Waiter());
            }

            if (!_polling && !_stopping.IsCancellationRequested)
            {
                _polling = true;
                _loop = Task.Run(PollAsync);
            }
        }

        try
        {
            return await waiter.Reply.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (--waiter.Count == 0)
                {
                    _waiting.Remove(requestId);
                }
            }
        }
    }

    /// <summary>A final reply was saved in this process.</summary>
    public void Complete(PersistedReply reply)
    {
        Waiter? waiter;
        lock (_gate)
        {
            if (!reply.IsFinal || !_waiting.TryGetValue(reply.RequestId, out waiter))
            {
                return;
            }
        }

        waiter.Reply.TrySetResult(reply);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task PollAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, _stopping.Token).ConfigureAwait(false);
                long[] waiting;
                lock (_gate)
                {
                    waiting = [.. _waiting.Keys];
                }

                foreach (var batch in waiting.Chunk(BatchSize))
                {
                    using var timeout = TimeoutScope.Start(storageTimeout, time, _stopping.Token);
                    foreach (var reply in await storage.RepliesForAsync(batch, timeout.Token).ConfigureAwait(false))
                    {
                        Complete(reply);
                    }
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Whatever failed, waiters must keep being served: log and poll again.
                logger.LogDebug(ex, "Polling replies of persisted messages failed; retrying");
            }

            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _polling = false;
                    return;
                }
            }
        }

        lock (_gate)
        {
            _polling = false;
        }
    }

    private sealed class Waiter
    {
        public int Count { get; set; } = 1;

        public TaskCompletionSource<PersistedReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
