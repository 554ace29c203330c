namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// Runs and steers durable workflows (Effect's <c>WorkflowEngine</c> as a caller sees it). Works from runners and
/// client-only nodes alike; needs a MessageStorage, and <c>workflow</c> in <c>Cluster:AvailableShardGroups</c> on every node.
/// </summary>
public interface IWorkflowClient
{
    /// <summary>
    /// Runs the workflow for <paramref name="payload"/> and waits for its result, across suspensions. An execution with
    /// the same id (idempotency key) that already ran returns its first result without running again.
    /// </summary>
    /// <exception cref="WorkflowFailedException">The body failed (its compensations ran) or the execution was interrupted.</exception>
    Task<TResult> ExecuteAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, TPayload payload, CancellationToken cancellationToken = default);

    /// <summary>Starts the workflow for <paramref name="payload"/> and returns its execution id once the start is stored.</summary>
    Task<string> StartAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, TPayload payload, CancellationToken cancellationToken = default);

    /// <summary>The execution's state in storage; null when it was never started.</summary>
    Task<WorkflowStatus<TResult>?> PollAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Interrupts the execution: it stops at its next step, runs its compensations and completes as failed
    /// (<see cref="WorkflowInterruptedException"/>). False when it had already finished or was never started.
    /// </summary>
    Task<bool> InterruptAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default);

    /// <summary>Resumes a suspended execution now (e.g. one suspended on failure, after fixing the cause). False when it was not suspended.</summary>
    Task<bool> ResumeAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default);

    /// <summary>Completes <paramref name="deferred"/> with <paramref name="value"/>, waking the execution that waits for it.</summary>
    /// <exception cref="WorkflowCompletedException">The execution has already finished.</exception>
    Task CompleteDeferredAsync<T>(DurableDeferred<T> deferred, T value, CancellationToken cancellationToken = default);

    /// <summary>Fails <paramref name="deferred"/>: the body's await throws <see cref="WorkflowFailedException"/> with <paramref name="reason"/>.</summary>
    /// <exception cref="WorkflowCompletedException">The execution has already finished.</exception>
    Task FailDeferredAsync<T>(DurableDeferred<T> deferred, string reason, CancellationToken cancellationToken = default);

    /// <summary>Completes the deferred named by <paramref name="token"/> (see <see cref="DurableDeferred{T}.Token"/>) with <paramref name="value"/>.</summary>
    /// <exception cref="FormatException">Not a deferred token.</exception>
    /// <exception cref="WorkflowCompletedException">The execution has already finished.</exception>
    Task CompleteDeferredAsync<T>(string token, T value, CancellationToken cancellationToken = default);
}
