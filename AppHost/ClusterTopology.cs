namespace SocketRunnerAspire.AppHost;

/// <summary>How many runners the local cluster has and what they are called.</summary>
public static class ClusterTopology
{
    /// <summary>Configuration key for the number of runner processes.</summary>
    public const string RunnerCountKey = "Cluster:Runners";

    /// <summary>Runner count when <see cref="RunnerCountKey"/> is not set.</summary>
    public const int DefaultRunnerCount = 3;

    /// <summary>Resource name of runner number <paramref name="ordinal"/> (1-based).</summary>
    public static string RunnerName(int ordinal) => $"runner-{ordinal}";
}
