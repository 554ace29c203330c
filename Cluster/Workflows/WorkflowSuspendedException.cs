namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// Thrown by a <see cref="WorkflowContext"/> step that has to wait (an unresolved deferred, a sleep, a suspended child):
/// it unwinds the body, and the execution suspends until what it waits for arrives, then replays. Do not catch it; a
/// body that does still suspends (the context remembers it asked to).
/// </summary>
public sealed class WorkflowSuspendedException : Exception
{
    internal WorkflowSuspendedException(string reason)
        : base(reason)
    {
    }
}
