using Npgsql;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>Runs an Npgsql call and turns every failure into a <see cref="PersistenceException"/> (Effect maps every SQL error to <c>PersistenceError</c>).</summary>
internal static class PostgresCall
{
    /// <summary><see cref="Run{T}(string, Func{Task{T}}, CancellationToken)"/> once <paramref name="schema"/> has set up the tables.</summary>
    public static Task<T> Run<T>(string storage, PostgresSchemaGate schema, Func<Task<T>> operation, CancellationToken cancellationToken) =>
        Run(storage, async () =>
        {
            await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
            return await operation().ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>A batch: its commands run in one round trip and one implicit transaction.</summary>
    public static NpgsqlBatch Batch(params NpgsqlBatchCommand[] commands)
    {
        var batch = new NpgsqlBatch();
        foreach (var command in commands)
        {
            batch.BatchCommands.Add(command);
        }

        return batch;
    }

    public static async Task<T> Run<T>(string storage, Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not ClusterException)
        {
            // NpgsqlException (server errors, broken connections, command timeouts), a pool exhausted or disposed
            // (InvalidOperationException, ObjectDisposedException), a socket torn down: all mean the same to callers.
            throw new PersistenceException($"{storage} failed: {ex.Message}", ex);
        }
    }
}
