namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>Entity type names, shard group and primary keys of the workflow engine's messages (Effect's, where it has one).</summary>
internal static class WorkflowKeys
{
    /// <summary>The shard group of every workflow message (Effect's); must be in <c>Cluster:AvailableShardGroups</c>.</summary>
    public const string ShardGroup = "workflow";

    /// <summary>The durable clock's entity type.</summary>
    public const string ClockEntityType = "Workflow/-/DurableClock";

    /// <summary>The deferred an interrupt completes (Effect's <c>InterruptSignal</c>).</summary>
    public const string InterruptSignal = "Workflow/InterruptSignal";

    public const string RunTag = "run";

    public const string ActivityTag = "activity";

    public const string DeferredTag = "deferred";

    public static string EntityType(string workflowName) => "Workflow/" + workflowName;

    public static string Activity(string name, int attempt) => name + "/" + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Clock(string name) => "clock/" + name;

    public static string Child(string workflowName, string executionId) => "child/" + workflowName + "/" + executionId;
}
