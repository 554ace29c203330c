namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>A durable deferred was completed after its execution had finished; nothing waits for it, so it was not kept.</summary>
public sealed class WorkflowCompletedException(string workflowName, string executionId, string deferred)
    : InvalidOperationException($"Workflow {workflowName} execution {executionId} has finished; deferred '{deferred}' was not completed.")
{
    /// <summary>The workflow's name.</summary>
    public string WorkflowName { get; } = workflowName;

    /// <summary>The finished execution's id.</summary>
    public string ExecutionId { get; } = executionId;
}
