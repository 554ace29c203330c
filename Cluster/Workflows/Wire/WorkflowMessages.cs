using System.ComponentModel;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Workflows.Wire;

// The persisted messages of the workflow entities (Effect's ClusterWorkflowEngine protocol: the RPCs run, activity,
// deferred and resume of the entity type "Workflow/{name}", and the durable clock's "Workflow/-/DurableClock").
// Public only so the serializer can read them; send them through IWorkflowClient and WorkflowContext.

/// <summary>Runs (or replays) one execution; one per execution (primary key ""), so a second start joins the first.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[Persisted(Uninterruptible = true)]
[RpcName("run")]
public sealed record WorkflowRunRequest(byte[] Payload, WorkflowParent? Parent) : IEntityRequest<WorkflowEntity, WorkflowResult>, IPrimaryKey
{
    /// <inheritdoc />
    public string PrimaryKey => string.Empty;
}

/// <summary>The workflow that started a child execution and waits for it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record WorkflowParent(string WorkflowName, string ExecutionId);

/// <summary>One attempt of an activity; its reply is the activity's result, so a replay never runs a completed attempt again.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[Persisted(Uninterruptible = true)]
[RpcName("activity")]
public sealed record WorkflowActivityRequest(string Name, int Attempt) : IEntityRequest<WorkflowEntity, ActivityOutcome>, IPrimaryKey
{
    /// <inheritdoc />
    public string PrimaryKey => WorkflowKeys.Activity(Name, Attempt);
}

/// <summary>Completes the durable deferred <paramref name="Name"/> of an execution (once: the first completion wins).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[Persisted(Uninterruptible = true)]
[RpcName("deferred")]
public sealed record WorkflowDeferredRequest(string Name, DeferredExit Exit) : IEntityRequest<WorkflowEntity, DeferredExit>, IPrimaryKey
{
    /// <inheritdoc />
    public string PrimaryKey => Name;
}

/// <summary>Wakes a suspended execution: a child finished (key: the child's execution id), or an operator resumes it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[Persisted(Uninterruptible = true)]
[RpcName("resume")]
public sealed record WorkflowResumeRequest(string Key, bool Explicit) : IEntityRequest<WorkflowEntity, bool>, IPrimaryKey
{
    /// <inheritdoc />
    public string PrimaryKey => Key;
}

/// <summary>A durable sleep's wake-up, delivered at its time to the clock entity, which completes the sleep's deferred.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[Persisted(Uninterruptible = true)]
[RpcName("run")]
public sealed record DurableClockWake(string WorkflowName, string ExecutionId, string Name, long DeliverAtMs) : IEntityMessage<DurableClockEntity>, IPrimaryKey, IDeliverAt
{
    /// <inheritdoc />
    public string PrimaryKey => WorkflowName + "/" + Name;

    /// <inheritdoc />
    public DateTimeOffset DeliverAt => DateTimeOffset.FromUnixTimeMilliseconds(DeliverAtMs);
}

/// <summary>
/// How a run ended: complete (with its value, or its failure) or suspended (waiting on a deferred, a clock or a child,
/// or, with <c>SuspendOnFailure</c>, on an operator after a failure).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record WorkflowResult(bool Suspended, bool Succeeded, byte[]? Value, WorkflowError? Error)
{
    internal static WorkflowResult Success(byte[] value) => new(false, true, value, null);

    internal static WorkflowResult Failure(WorkflowError error) => new(false, false, null, error);

    internal static WorkflowResult Suspend(WorkflowError? failure = null) => new(true, false, null, failure);
}

/// <summary>An exception as storage keeps it: its type's full name and its message, and whether it was an interrupt.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record WorkflowError(string Type, string Message, bool Interrupted = false)
{
    internal static WorkflowError From(Exception exception) => exception switch
    {
        WorkflowFailedException failed => new(failed.ErrorType, failed.Message, failed.Interrupted),
        ActivityFailedException activity => new(activity.ErrorType, activity.Message),
        _ => new(exception.GetType().FullName ?? exception.GetType().Name, exception.Message),
    };
}

/// <summary>The result of one activity attempt; <paramref name="NotRun"/> when no run of the workflow claimed it in time.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record ActivityOutcome(bool Succeeded, byte[]? Value, WorkflowError? Error, bool NotRun = false);

/// <summary>The value (or failure) a durable deferred was completed with; <paramref name="Rejected"/> when its execution had already finished.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record DeferredExit(bool Succeeded, byte[]? Value, WorkflowError? Error, bool Rejected = false);
