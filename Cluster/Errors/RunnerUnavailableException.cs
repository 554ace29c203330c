namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>The runner that owns the shard could not be reached (refused, closed or timed out).</summary>
public sealed class RunnerUnavailableException(string runner, string? detail = null) : ClusterException($"Runner {runner} is unavailable" + (detail is null ? "." : $": {detail}"))
{
    /// <summary>What the error is about.</summary>
    public string Runner { get; } = runner;
}
