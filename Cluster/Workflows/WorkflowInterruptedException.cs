namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>The execution was interrupted (<see cref="IWorkflowClient.InterruptAsync{TPayload, TResult}"/>); its compensations ran.</summary>
public sealed class WorkflowInterruptedException(string workflowName, string executionId)
    : WorkflowFailedException(workflowName, executionId, typeof(WorkflowInterruptedException).FullName!, $"Workflow {workflowName} execution {executionId} was interrupted.", interrupted: true);
