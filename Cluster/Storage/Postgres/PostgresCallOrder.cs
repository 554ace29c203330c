namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// Runs the calls made for one key one after another, in the order they were made, while calls for other keys run in
/// parallel on their own connections. Saves of replies to one request keep their call order this way (as the Redis
/// storage's pipelined batches do), which the pooled connections of PostgreSQL would not: the first of two final
/// replies made at once is the one kept. A call cancelled while waiting for its turn gives up its place.
/// </summary>
internal sealed class PostgresCallOrder<TKey>
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, Task> _tails = [];

    public async Task<T> RunAsync<T>(TKey key, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_gate)
        {
            previous = _tails.GetValueOrDefault(key) ?? Task.CompletedTask;
            _tails[key] = done.Task;
        }

        try
        {
            await previous.WaitAsync(cancellationToken).ConfigureAwait(false);
            return await call().ConfigureAwait(false);
        }
        finally
        {
            // A call that gave up early still holds back the next one until its own predecessor is done.
            if (previous.IsCompleted)
            {
                Release(key, done);
            }
            else
            {
                _ = previous.ContinueWith(_ => Release(key, done), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private void Release(TKey key, TaskCompletionSource done)
    {
        done.TrySetResult();
        lock (_gate)
        {
            if (_tails.TryGetValue(key, out var tail) && tail == done.Task)
            {
                _tails.Remove(key);
            }
        }
    }
}
