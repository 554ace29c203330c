using System.Diagnostics;
using System.Threading.Channels;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>One message in an entity's mailbox, with where its reply goes.</summary>
internal sealed class EntityWork(RpcBinding rpc, object request, ActivityContext parent, CancellationToken cancellation)
{
    public RpcBinding Rpc { get; } = rpc;

    public object Request { get; } = request;

    public ActivityContext Parent { get; } = parent;

    /// <summary>The caller's cancellation (interrupts the handler).</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Completed with the reply of a request (or null for a tell).</summary>
    public TaskCompletionSource<object?> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>For stream RPCs: the items, completed at the end of the stream or with its error.</summary>
    public Channel<object?>? Stream { get; } = rpc.Kind == RpcKind.Stream
        ? Channel.CreateBounded<object?>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true })
        : null;

    public void Fail(Exception exception)
    {
        Reply.TrySetException(exception);
        Stream?.Writer.TryComplete(exception);
    }
}
