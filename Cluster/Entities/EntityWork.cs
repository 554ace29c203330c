using System.Diagnostics;
using System.Threading.Channels;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// One message in an entity's mailbox, with where its reply goes. A request from the runner protocol
/// (<paramref name="replyInline"/>) lets the reply's continuation, which only serializes the reply and queues
/// its frame, run on the entity's worker as it completes: one thread-pool hop less per remote request. Local
/// callers keep asynchronous continuations so their code never runs on, and holds up, the entity's worker.
/// </summary>
internal sealed class EntityWork(RpcBinding rpc, object request, ActivityContext parent, CancellationToken cancellation, bool replyInline = false)
{
    public RpcBinding Rpc { get; } = rpc;

    public object Request { get; } = request;

    public ActivityContext Parent { get; } = parent;

    /// <summary>The caller's cancellation (interrupts the handler).</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Completed with the reply of a request (or null for a tell).</summary>
    public TaskCompletionSource<object?> Reply { get; } = new(replyInline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>For stream RPCs: the items, completed at the end of the stream or with its error.</summary>
    public Channel<object?>? Stream { get; } = rpc.Kind == RpcKind.Stream
        ? Channel.CreateBounded<object?>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true })
        : null;

    public void Fail(Exception exception)
    {
        if (Reply.TrySetException(exception) && Rpc.Kind == RpcKind.Tell)
        {
            // A tell's sender does not wait for its outcome (a persisted tell's run may still await it): observed
            // here, a failed tell is not an UnobservedTaskException when its task is collected.
            _ = Reply.Task.Exception;
        }

        Stream?.Writer.TryComplete(exception);
    }
}
