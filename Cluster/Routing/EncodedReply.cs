using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using SocketRunnerAspire.Cluster.Buffers;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Routing;

/// <summary>
/// The encoded reply to a request received from another node: waits for the entity's reply and serializes it into
/// pooled bytes. Pooled itself (it returns to the pool once its result is read), so answering a remote request
/// allocates no state machine. Its continuation runs where the entity replied, as the entity's reply does for
/// remote requests: it only queues the reply frame.
/// </summary>
internal sealed class EncodedReply : IValueTaskSource<PooledBytes>
{
    private static readonly BoundedPool<EncodedReply> Pool = new(1024);

    private readonly Action _onEntityReplied;
    private ManualResetValueTaskSourceCore<PooledBytes> _core;
    private ConfiguredTaskAwaitable<object?>.ConfiguredTaskAwaiter _entityReply;
    private RpcBinding? _rpc;
    private ClusterSerializer? _serializer;

    private EncodedReply() => _onEntityReplied = OnEntityReplied;

    /// <summary>The encoded form of <paramref name="entityReply"/>, once it completes.</summary>
    public static ValueTask<PooledBytes> Of(Task<object?> entityReply, RpcBinding rpc, ClusterSerializer serializer)
    {
        if (entityReply.IsCompleted)
        {
            try
            {
                return ValueTask.FromResult(Encode(rpc, serializer, entityReply.GetAwaiter().GetResult()));
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<PooledBytes>(ex);
            }
        }

        var reply = Rent();
        reply._rpc = rpc;
        reply._serializer = serializer;
        reply._entityReply = entityReply.ConfigureAwait(false).GetAwaiter();
        var pending = new ValueTask<PooledBytes>(reply, reply._core.Version);
        reply._entityReply.UnsafeOnCompleted(reply._onEntityReplied);
        return pending;
    }

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

    private static EncodedReply Rent()
    {
        return Pool.TryRent(out var reply) ? reply : new EncodedReply();
    }

    private void OnEntityReplied()
    {
        try
        {
            _core.SetResult(Encode(_rpc!, _serializer!, _entityReply.GetResult()));
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
        }
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
            _entityReply = default;
            _rpc = null;
            _serializer = null;
            Pool.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
