namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// Group commit for one kind of storage call: a call made while fewer than <c>maxInFlight</c> batches are on the
/// wire goes out at once (alone, so an idle store adds no latency); calls made meanwhile queue and go out together
/// as the next batch, one Lua call for all of them, as soon as a batch in flight returns. Each caller gets its own
/// item's outcome; a failure of the whole batch fails each of its callers.
/// </summary>
/// <typeparam name="TItem">What a caller saves.</typeparam>
/// <typeparam name="TResult">What a caller learns.</typeparam>
internal sealed class RedisBatcher<TItem, TResult>(Func<TItem[], Task<RedisBatcher<TItem, TResult>.Outcome[]>> send, int maxBatch, int maxInFlight)
{
    private readonly Lock _gate = new();
    private readonly Queue<Pending> _queue = new();
    private int _inFlight;
    private long _batches;

    /// <summary>Batches sent so far (each one round trip to the store).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>The outcome of one item: its result, or why it failed.</summary>
    public readonly record struct Outcome(TResult Result, Exception? Error)
    {
        public static Outcome Of(TResult result) => new(result, null);

        public static Outcome Failed(Exception error) => new(default!, error);
    }

    public Task<TResult> Enqueue(TItem item)
    {
        var pending = new Pending(item);
        bool start;
        lock (_gate)
        {
            _queue.Enqueue(pending);
            start = _inFlight < maxInFlight;
            if (start)
            {
                _inFlight++;
            }
        }

        if (start)
        {
            _ = SendLoopAsync();
        }

        return pending.Done.Task;
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            Pending[] batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _inFlight--;
                    return;
                }

                batch = new Pending[Math.Min(_queue.Count, maxBatch)];
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = _queue.Dequeue();
                }
            }

            Interlocked.Increment(ref _batches);
            try
            {
                var items = new TItem[batch.Length];
                for (var i = 0; i < batch.Length; i++)
                {
                    items[i] = batch[i].Item;
                }

                var outcomes = await send(items).ConfigureAwait(false);
                for (var i = 0; i < batch.Length; i++)
                {
                    if (outcomes[i].Error is { } error)
                    {
                        batch[i].Done.TrySetException(error);
                    }
                    else
                    {
                        batch[i].Done.TrySetResult(outcomes[i].Result);
                    }
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }
        }
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource<TResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
