namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>An activity failed (every attempt); the body may catch it. The failure is stored, so a replay sees the same one.</summary>
public sealed class ActivityFailedException(string activity, int attempt, string errorType, string message) : Exception(message)
{
    /// <summary>The activity's name.</summary>
    public string Activity { get; } = activity;

    /// <summary>The attempt that failed last.</summary>
    public int Attempt { get; } = attempt;

    /// <summary>The full name of the exception type the activity threw.</summary>
    public string ErrorType { get; } = errorType;
}
