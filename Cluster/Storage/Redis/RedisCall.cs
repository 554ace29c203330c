using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>Runs a StackExchange.Redis call with a deadline and turns every failure into a <see cref="PersistenceException"/>.</summary>
internal static class RedisCall
{
    public static async Task<T> Run<T>(string storage, Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            return await operation().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ClusterException)
        {
            // Besides RedisException and TimeoutException, a connection torn down mid-write surfaces as
            // InvalidOperationException from the pipe; all of them mean the same to callers.
            throw new PersistenceException($"{storage} failed: {ex.Message}", ex);
        }
    }
}
