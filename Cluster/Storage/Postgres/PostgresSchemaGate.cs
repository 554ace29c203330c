namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>Runs a schema set-up once before the first operation; a failed attempt is retried by the next operation.</summary>
internal sealed class PostgresSchemaGate(Func<CancellationToken, Task> setUp)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _done;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_done)
            {
                await setUp(cancellationToken).ConfigureAwait(false);
                _done = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
