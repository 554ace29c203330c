using System.Diagnostics;
using System.Threading.Channels;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Work whose outcome is awaited as a task: local sends, tells, streams and persisted deliveries. Continuations run
/// asynchronously, so a caller's code never runs on, and holds up, the entity's worker.
/// </summary>
internal sealed class TaskEntityWork : EntityWork
{
    private readonly Channel<object?>? _stream;

    public TaskEntityWork(RpcBinding rpc, object request, ActivityContext parent, CancellationToken cancellation)
    {
        Rpc = rpc;
        Request = request;
        Parent = parent;
        Cancellation = cancellation;
        _stream = rpc.Kind == RpcKind.Stream
            ? Channel.CreateBounded<object?>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true })
            : null;
    }

    /// <summary>Completed with the reply of a request (null for a tell or a stream).</summary>
    public TaskCompletionSource<object?> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>For stream RPCs: the items, completed at the end of the stream or with its error.</summary>
    public override Channel<object?>? Stream => _stream;

    public override void Complete(object? reply)
    {
        _stream?.Writer.TryComplete();
        Reply.TrySetResult(reply);
    }

    public override void Fail(Exception exception)
    {
        if (Reply.TrySetException(exception) && Rpc.Kind == RpcKind.Tell)
        {
            // A tell's sender does not wait for its outcome (a persisted tell's run may still await it): observed
            // here, a failed tell is not an UnobservedTaskException when its task is collected.
            _ = Reply.Task.Exception;
        }

        _stream?.Writer.TryComplete(exception);
    }

    public override void Cancel(CancellationToken cancellation)
    {
        Reply.TrySetCanceled(cancellation);
        _stream?.Writer.TryComplete(new OperationCanceledException(cancellation));
    }
}
