namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// A durable workflow as senders and runners both know it (Effect's <c>Workflow.make</c>): its name, its payload and
/// result types, and how an execution id is derived from a payload. Declare it once in a contracts assembly; runners
/// give it a body with <c>ClusterBuilder.AddWorkflow</c>, anyone runs it with <see cref="IWorkflowClient"/>.
/// </summary>
/// <remarks>
/// The execution id is the idempotency key: starting the same payload twice (same key) joins the first execution and
/// returns its result. Executions are entities of type <c>Workflow/{Name}</c> in the shard group <c>workflow</c>.
/// </remarks>
public sealed class WorkflowDefinition<TPayload, TResult>
{
    private readonly Func<TPayload, string> _idempotencyKey;

    internal WorkflowDefinition(string name, Func<TPayload, string> idempotencyKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("A workflow name may not contain '/'.", nameof(name));
        }

        Name = name;
        _idempotencyKey = idempotencyKey;
    }

    /// <summary>The workflow's name (its entity type is <c>Workflow/{Name}</c>).</summary>
    public string Name { get; }

    /// <summary>The execution id of <paramref name="payload"/>: its idempotency key.</summary>
    /// <exception cref="ArgumentException">The key function returned an empty key.</exception>
    public string ExecutionIdFor(TPayload payload)
    {
        var key = _idempotencyKey(payload);
        return string.IsNullOrEmpty(key)
            ? throw new ArgumentException($"Workflow {Name}'s idempotency key is empty for this payload.", nameof(payload))
            : key;
    }

    /// <summary>A handle to a durable deferred of this workflow's execution <paramref name="executionId"/>, to complete it from outside.</summary>
    public DurableDeferred<T> Deferred<T>(string executionId, string name) => new(Name, executionId, name);
}

/// <summary>Declares workflows.</summary>
public static class Workflow
{
    /// <summary>
    /// Declares the workflow <paramref name="name"/>, whose execution id for a payload is <paramref name="idempotencyKey"/>
    /// of it (e.g. the order id of a checkout).
    /// </summary>
    public static WorkflowDefinition<TPayload, TResult> Define<TPayload, TResult>(string name, Func<TPayload, string> idempotencyKey) =>
        new(name, idempotencyKey);
}
