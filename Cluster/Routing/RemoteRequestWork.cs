using System.Diagnostics;
using System.Threading.Tasks.Sources;
using SocketRunnerAspire.Cluster.Buffers;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Routing;

/// <summary>
/// A request received from another node, in its entity's mailbox: the entity's reply is serialized into pooled bytes
/// as it completes and handed to the connection, which awaits this as a <see cref="ValueTask{PooledBytes}"/>. Pooled
/// (it returns once its result is read), so a remote request's mailbox entry and reply cost no allocation. The
/// continuation runs where the entity replied: it only queues the reply frame.
/// </summary>
internal sealed class RemoteRequestWork : EntityWork, IValueTaskSource<PooledBytes>
{
    private static readonly BoundedPool<RemoteRequestWork> Pool = new(1024);

    private ManualResetValueTaskSourceCore<PooledBytes> _core;
    private ClusterSerializer? _serializer;

    private RemoteRequestWork()
    {
    }

    /// <summary>Work for <paramref name="request"/>; deliver it, then await <see cref="Reply"/> (once).</summary>
    public static RemoteRequestWork Rent(RpcBinding rpc, object request, ActivityContext parent, CancellationToken cancellation, ClusterSerializer serializer)
    {
        var work = Pool.TryRent(out var pooled) ? pooled : new RemoteRequestWork();
        work.Rpc = rpc;
        work.Request = request;
        work.Parent = parent;
        work.Cancellation = cancellation;
        work._serializer = serializer;
        return work;
    }

    /// <summary>The encoded reply, once the entity answered.</summary>
    public ValueTask<PooledBytes> Reply => new(this, _core.Version);

    public override void Complete(object? reply)
    {
        PooledBytes encoded;
        try
        {
            encoded = Encode(Rpc, _serializer!, reply);
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
            return;
        }

        _core.SetResult(encoded);
    }

    public override void Fail(Exception exception) => _core.SetException(exception);

    public override void Cancel(CancellationToken cancellation) => _core.SetException(new OperationCanceledException(cancellation));

    public static PooledBytes Encode(RpcBinding rpc, ClusterSerializer serializer, object? reply)
    {
        var output = PooledBufferWriter.Rent();
        try
        {
            rpc.SerializeReply(serializer, output, reply);
        }
        catch
        {
            output.Dispose();
            throw;
        }

        return output.Detach();
    }

    public PooledBytes GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            (Rpc, Request, Parent, Cancellation, _serializer) = (null!, null!, default, default, null);
            (DefectAttempts, StreamItemsSent) = (0, 0);
            Pool.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
