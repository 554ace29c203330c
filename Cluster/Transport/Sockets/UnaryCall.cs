using System.Threading.Tasks.Sources;
using SocketRunnerAspire.Cluster.Buffers;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// A unary call's reply, awaited as a <see cref="ValueTask{TResult}"/> and pooled: it returns to the pool once its
/// result is read. Exactly one of Complete, End, Fail or Cancel runs per use, by whoever took the call out of
/// <see cref="PendingCalls"/>; the cancellation registration is disposed before the call is reused, so a late
/// cancellation cannot reach the next use.
/// </summary>
internal sealed class UnaryCall : IPendingCall, IValueTaskSource<PooledBytes>
{
    private static readonly BoundedPool<UnaryCall> Pool = new(1024);

    private ManualResetValueTaskSourceCore<PooledBytes> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private RunnerClientConnection? _connection;
    private long _id;

    public ValueTask<PooledBytes> Reply => new(this, _core.Version);

    public static UnaryCall Rent()
    {
        return Pool.TryRent(out var call) ? call : new UnaryCall();
    }

    public void CancelWith(RunnerClientConnection connection, long id, CancellationToken token)
    {
        _connection = connection;
        _id = id;
        _cancellation = token.UnsafeRegister(static (state, token) =>
        {
            var call = (UnaryCall)state!;
            call._connection!.Cancel(call._id, token);
        }, this);
    }

    public void Complete(Frame frame)
    {
        if (frame.Kind == FrameKind.Failure)
        {
            frame.Dispose();
            _core.SetException(RemoteError.ToException((RemoteErrorCode)frame.Flags, frame.Meta ?? "Remote failure."));
        }
        else
        {
            _core.SetResult(frame.PooledPayload);
        }
    }

    public void End() => _core.SetException(new MalformedFrameException("StreamEnd for a unary call."));

    public void Fail(Exception error) => _core.SetException(error);

    public void Cancel(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

    public PooledBytes GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _cancellation.Dispose();
            _cancellation = default;
            _connection = null;
            _core.Reset();
            Pool.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
