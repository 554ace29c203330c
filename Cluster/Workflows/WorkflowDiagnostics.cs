using System.Diagnostics.Metrics;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>The workflow engine's span tags and metrics (on the cluster's Meter).</summary>
internal static class WorkflowDiagnostics
{
    public const string WorkflowTag = "workflow.name";

    public const string ExecutionTag = "workflow.execution_id";

    public const string ActivityTag = "workflow.activity";

    public const string AttemptTag = "workflow.activity.attempt";

    public const string OutcomeTag = "workflow.outcome";

    public static readonly UpDownCounter<long> Running =
        ClusterDiagnostics.Meter.CreateUpDownCounter<long>("cluster.workflows.running", description: "Workflow replays running on this runner, by workflow.");

    public static readonly Counter<long> Suspended =
        ClusterDiagnostics.Meter.CreateCounter<long>("cluster.workflows.suspended", description: "Workflow replays that ended suspended (waiting on a deferred, a clock or a child), by workflow.");

    public static readonly Counter<long> Completed =
        ClusterDiagnostics.Meter.CreateCounter<long>("cluster.workflows.completed", description: "Workflow executions completed on this runner, by workflow and outcome (succeeded, failed, interrupted).");

    public static string Outcome(WorkflowResult result) => result switch
    {
        { Suspended: true } => "suspended",
        { Succeeded: true } => "succeeded",
        { Error.Interrupted: true } => "interrupted",
        _ => "failed",
    };
}
