namespace SocketRunnerAspire.AppHost;

/// <summary>Names and settings that shape the local cluster.</summary>
public static class ClusterTopology
{
    /// <summary>Configuration key for the number of runner processes.</summary>
    public const string RunnerCountKey = "Cluster:Runners";

    /// <summary>Runner count when <see cref="RunnerCountKey"/> is not set.</summary>
    public const int DefaultRunnerCount = 3;

    /// <summary>Name of each runner's TCP endpoint that serves the runner RPC protocol.</summary>
    public const string RunnerEndpointName = "runner";

    /// <summary>Resource name of runner number <paramref name="ordinal"/> (1-based).</summary>
    public static string RunnerName(int ordinal) => $"runner-{ordinal}";
}
