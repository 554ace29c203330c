namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// A workflow execution failed: its body threw (after its compensations ran) or it was interrupted. What the body threw
/// is kept as its type name and message, since it went through storage (and may be read on another machine).
/// </summary>
public class WorkflowFailedException : Exception
{
    /// <summary>Creates the failure of execution <paramref name="executionId"/> of <paramref name="workflowName"/>.</summary>
    public WorkflowFailedException(string workflowName, string executionId, string errorType, string message, bool interrupted = false)
        : base(message)
    {
        WorkflowName = workflowName;
        ExecutionId = executionId;
        ErrorType = errorType;
        Interrupted = interrupted;
    }

    /// <summary>The workflow's name.</summary>
    public string WorkflowName { get; }

    /// <summary>The failed execution's id.</summary>
    public string ExecutionId { get; }

    /// <summary>The full name of the exception type the body threw (or of the interrupt).</summary>
    public string ErrorType { get; }

    /// <summary>True when the execution ended because it was interrupted.</summary>
    public bool Interrupted { get; }
}
