namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>This runner is not (or no longer) registered in RunnerStorage.</summary>
public sealed class RunnerNotRegisteredException(string runner) : ClusterException($"Runner {runner} is not registered.")
{
    /// <summary>What the error is about.</summary>
    public string Runner { get; } = runner;
}
