namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// The parked keep-alive message of one entity instance (Effect's <c>KeepAliveLatch</c>): released when the entity
/// turns keep-alive off, faulted with <see cref="Errors.EntityNotAssignedToRunnerException"/> when the instance
/// stops (the message then stays stored for the next owner).
/// </summary>
internal sealed class KeepAliveLatch
{
    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed once the keep-alive message's run ended (its final reply saved, or the run abandoned).</summary>
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A latch that is already released: the entity turned keep-alive off before its message arrived.</summary>
    public static KeepAliveLatch Open()
    {
        var latch = new KeepAliveLatch();
        latch.Released.TrySetResult();
        return latch;
    }
}
