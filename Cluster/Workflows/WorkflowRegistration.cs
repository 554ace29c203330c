using SocketRunnerAspire.Cluster.Serialization;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>A workflow a runner hosts: its definition's name, its body and its options (built by <c>ClusterBuilder.AddWorkflow</c>).</summary>
public abstract class WorkflowRegistration
{
    private protected WorkflowRegistration(string name, WorkflowOptions options)
    {
        Name = name;
        Options = options;
    }

    /// <summary>The workflow's name.</summary>
    public string Name { get; }

    /// <summary>How failures are handled.</summary>
    public WorkflowOptions Options { get; }

    /// <summary>Decodes the payload, runs the body and encodes its result.</summary>
    internal abstract Task<byte[]> RunAsync(WorkflowContext context, ReadOnlyMemory<byte> payload, ClusterSerializer serializer, CancellationToken cancellationToken);
}

/// <summary>The body of one workflow, typed.</summary>
internal sealed class WorkflowRegistration<TPayload, TResult>(
    WorkflowDefinition<TPayload, TResult> definition, Func<WorkflowContext, TPayload, CancellationToken, Task<TResult>> body, WorkflowOptions options)
    : WorkflowRegistration(definition.Name, options)
{
    internal override async Task<byte[]> RunAsync(WorkflowContext context, ReadOnlyMemory<byte> payload, ClusterSerializer serializer, CancellationToken cancellationToken)
    {
        var decoded = serializer.Deserialize<TPayload>(payload);   // MalformedMessageException: the execution fails with it
        return serializer.Serialize(await body(context, decoded, cancellationToken).ConfigureAwait(false));
    }
}

/// <summary>How a workflow handles a failure of its body.</summary>
public sealed class WorkflowOptions
{
    /// <summary>
    /// When true, a failure suspends the execution instead of completing it (Effect's <c>SuspendOnFailure</c>): no
    /// compensation runs, the failed activity attempt is forgotten, and <see cref="IWorkflowClient.ResumeAsync{TPayload, TResult}"/>
    /// runs the execution again from its last completed step. Default false: the compensations run and it completes as failed.
    /// </summary>
    public bool SuspendOnFailure { get; set; }
}

/// <summary>How often an activity is tried before its failure reaches the body.</summary>
/// <param name="MaxAttempts">Attempts in all (at least 1); each is its own stored message, so a replay never repeats a finished one.</param>
/// <param name="RetryDelay">The wait between attempts (in memory: an attempt after a restart starts at once).</param>
public sealed record ActivityOptions(int MaxAttempts = 1, TimeSpan RetryDelay = default);
