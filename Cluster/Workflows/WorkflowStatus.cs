namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>Where an execution is (Effect's <c>Workflow.Result</c> as <c>poll</c> returns it).</summary>
public enum WorkflowState
{
    /// <summary>Started and not finished: running, or suspended on a deferred, a clock or a child.</summary>
    Pending,

    /// <summary>Finished with a result.</summary>
    Succeeded,

    /// <summary>Finished with a failure (its compensations ran), or interrupted.</summary>
    Failed,
}

/// <summary>
/// An execution's state as storage has it. <see cref="Suspended"/> tells a pending execution that waits apart from one
/// that runs; <see cref="Error"/> is the failure of a failed execution, or of one suspended on failure.
/// </summary>
public sealed record WorkflowStatus<TResult>(WorkflowState State, bool Suspended, TResult? Result, WorkflowFailedException? Error)
{
    /// <summary>True once the execution has finished (succeeded or failed).</summary>
    public bool IsComplete => State != WorkflowState.Pending;
}
