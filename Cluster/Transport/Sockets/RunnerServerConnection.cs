using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Serves one accepted connection: requests run concurrently (multiplexed by request id), each
/// reply is queued on the connection's write loop, and a Cancel frame interrupts its request. A stream sends
/// only as many chunks as its caller granted (Credit frames).
/// At most <c>maxPending</c> requests and pings may await their reply; beyond that the connection
/// is not read until replies drain, which pushes back on the peer through TCP.
/// </summary>
internal sealed class RunnerServerConnection(FrameConnection connection, IRunnerRpcHandler handler, int maxPending, ILogger logger) : IReadGate
{
    private readonly InFlightRequests _inFlight = new();
    private readonly StreamCredits _credits = new();
    private readonly Stack<ServedRequest> _servedPool = new();
    private readonly Lock _servedPoolGate = new();
    private CancellationToken _closed;
    private int _pending;
    private TaskCompletionSource? _drained;

    /// <summary>Requests and pings whose reply is not yet queued.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public FrameConnection Frames => connection;

    private IRunnerRpcHandler Handler => handler;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _closed = closing.Token;
        try
        {
            await connection.RunAsync(OnFrame, this, closing.Token).ConfigureAwait(false);
        }
        finally
        {
            await closing.CancelAsync().ConfigureAwait(false);
            _inFlight.CancelAll();
        }
    }

    private void OnFrame(Frame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Ping:
                frame.Dispose();
                _ = AnswerAsync(new OutgoingFrame(FrameKind.Pong, frame.RequestId));
                break;
            case FrameKind.Hello:
                // A node with a cluster secret connecting to a runner without one: say so, and let it close.
                frame.Dispose();
                _ = AnswerAsync(new OutgoingFrame(FrameKind.Failure, frame.RequestId, (byte)RemoteErrorCode.Unauthorized,
                    "this runner does not use a cluster secret (Cluster:Socket:ClusterSecret differs between nodes)"));
                break;
            case FrameKind.Cancel:
                frame.Dispose();
                _inFlight.Cancel(frame.RequestId);
                break;
            case FrameKind.Credit:
                Grant(frame);
                break;
            case FrameKind.Request:
            case FrameKind.StreamRequest:
            case FrameKind.Envelope:
            case FrameKind.Notify:
                // Not linked to the connection's token (a registration per request, contended under load):
                // closing the connection cancels every in-flight request's source instead.
                if (!_inFlight.TryStart(frame.RequestId, out var interrupt))
                {
                    frame.Dispose();
                    throw new MalformedFrameException($"Request id {frame.RequestId} is already in flight on this connection.");
                }

                Interlocked.Increment(ref _pending);
                if (frame.Kind == FrameKind.Request)
                {
                    RentServed().Start(frame, interrupt);
                }
                else if (frame.Kind == FrameKind.StreamRequest)
                {
                    // Opened before the next frame is read: the caller's first grant follows the request.
                    _ = ServeStreamAsync(frame, interrupt, _credits.Open(frame.RequestId));
                }
                else
                {
                    _ = ServeAsync(frame, interrupt);
                }

                break;
            default:
                frame.Dispose();
                throw new MalformedFrameException($"A client may not send {frame.Kind} frames.");
        }
    }

    private async Task ServeAsync(Frame frame, CancellationTokenSource cts)
    {
        var id = frame.RequestId;
        try
        {
            switch (frame.Kind)
            {
                case FrameKind.Envelope:
                    await handler.HandleEnvelopeAsync(frame.Payload, cts.Token).ConfigureAwait(false);
                    await SendAsync(new OutgoingFrame(FrameKind.Success, id)).ConfigureAwait(false);
                    break;
                case FrameKind.Notify:
                    await handler.HandleNotifyAsync(frame.Payload, cts.Token).ConfigureAwait(false);
                    await SendAsync(new OutgoingFrame(FrameKind.Success, id)).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Cancelled by the caller or the connection closed: the caller already stopped waiting.
        }
        catch (Exception ex)
        {
            await SendAsync(FailureFrame(id, ex)).ConfigureAwait(false);
        }
        finally
        {
            frame.Dispose();
            // Not disposed: a source without a timer or links holds nothing that needs disposing. Not reused either:
            // a stream's or a persisted request's work may still hold its token.
            _inFlight.Finish(id, cts, reusable: false);
            ReleasePending();
        }
    }

    /// <summary>
    /// Serves a stream request: one unit of credit before each item is taken from the handler, so a caller that does not
    /// consume holds the handler (and the entity writing into it) back instead of this connection buffering its chunks.
    /// </summary>
    private async Task ServeStreamAsync(Frame frame, CancellationTokenSource cts, SemaphoreSlim credit)
    {
        var id = frame.RequestId;
        var persisted = (frame.Flags & (byte)FrameFlags.Persisted) != 0;
        try
        {
            var chunks = handler.HandleStreamAsync(frame.Payload, persisted, cts.Token).GetAsyncEnumerator(cts.Token);
            await using (chunks.ConfigureAwait(false))
            {
                while (true)
                {
                    if (!credit.Wait(0))
                    {
                        await WaitForCreditAsync(credit, cts.Token).ConfigureAwait(false);
                    }

                    if (!await chunks.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    await SendAsync(new OutgoingFrame(FrameKind.Chunk, id, Payload: chunks.Current)).ConfigureAwait(false);
                }
            }

            await SendAsync(new OutgoingFrame(FrameKind.StreamEnd, id)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Cancelled by the caller or the connection closed: the caller already stopped waiting.
        }
        catch (Exception ex)
        {
            await SendAsync(FailureFrame(id, ex)).ConfigureAwait(false);
        }
        finally
        {
            frame.Dispose();
            _credits.Close(id, credit);
            _inFlight.Finish(id, cts, reusable: false);
            ReleasePending();
        }
    }

    /// <summary>
    /// Waits for the caller's next grant. Meanwhile the stream does not count against the read gate: the grant arrives
    /// as a frame, so a connection whose every slot waited for credit would otherwise stop reading the frames it waits for.
    /// </summary>
    private async ValueTask WaitForCreditAsync(SemaphoreSlim credit, CancellationToken cancellationToken)
    {
        ReleasePending();
        try
        {
            await credit.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref _pending);
        }
    }

    /// <summary>A Credit frame: 1–255 chunks in its flags, nothing else. One for a stream that already ended is ignored.</summary>
    private void Grant(Frame frame)
    {
        var malformed = frame.Flags == 0 || frame.Meta is not null || frame.PooledPayload.Array is not null;
        frame.Dispose();
        if (malformed)
        {
            throw new MalformedFrameException("A credit frame carries 1 to 255 chunks in its flags and no meta or payload.");
        }

        _credits.TryGrant(frame.RequestId, frame.Flags);
    }

    private OutgoingFrame FailureFrame(long id, Exception ex)
    {
        var (code, message) = RemoteError.From(ex);
        if (code == RemoteErrorCode.Internal)
        {
            logger.LogError(ex, "Runner RPC {RequestId} from {Peer} failed", id, connection.Peer);
        }

        return new OutgoingFrame(FrameKind.Failure, id, (byte)code, message);
    }

    private ServedRequest RentServed()
    {
        lock (_servedPoolGate)
        {
            if (_servedPool.TryPop(out var served))
            {
                return served;
            }
        }

        return new ServedRequest(this);
    }

    /// <summary>Queues a request's reply (or failure) and releases its pending slot once queued.</summary>
    private void QueueReply(OutgoingFrame reply)
    {
        if (connection.TrySend(reply))
        {
            ReleasePending();
            return;
        }

        _ = QueueReplyWhenRoomAsync(reply);
    }

    private async Task QueueReplyWhenRoomAsync(OutgoingFrame reply)
    {
        try
        {
            await SendAsync(reply).ConfigureAwait(false);
        }
        finally
        {
            ReleasePending();
        }
    }

    /// <summary>
    /// A Request frame being served, pooled per connection: the handler's reply is awaited through a cached
    /// continuation, so serving a request allocates neither a task nor a state machine.
    /// </summary>
    private sealed class ServedRequest
    {
        private readonly RunnerServerConnection _owner;
        private readonly Action _onReplied;
        private ConfiguredValueTaskAwaitable<PooledBytes>.ConfiguredValueTaskAwaiter _reply;
        private Frame _frame;
        private CancellationTokenSource? _interrupt;

        public ServedRequest(RunnerServerConnection owner)
        {
            _owner = owner;
            _onReplied = OnReplied;
        }

        public void Start(Frame frame, CancellationTokenSource interrupt)
        {
            _frame = frame;
            _interrupt = interrupt;
            ValueTask<PooledBytes> reply;
            try
            {
                reply = _owner.Handler.HandleRequestAsync(frame.Payload, IsPersisted(frame), interrupt.Token);
            }
            catch (Exception ex)
            {
                Finish(default, ex);
                return;
            }

            _reply = reply.ConfigureAwait(false).GetAwaiter();
            if (_reply.IsCompleted)
            {
                OnReplied();
            }
            else
            {
                _reply.UnsafeOnCompleted(_onReplied);
            }
        }

        private void OnReplied()
        {
            PooledBytes reply = default;
            Exception? error = null;
            try
            {
                reply = _reply.GetResult();
            }
            catch (Exception ex)
            {
                error = ex;
            }

            _reply = default;
            Finish(reply, error);
        }

        private void Finish(PooledBytes reply, Exception? error)
        {
            var (frame, interrupt) = (_frame, _interrupt!);
            (_frame, _interrupt) = (default, null);
            var id = frame.RequestId;
            var persisted = IsPersisted(frame);
            frame.Dispose();
            var interrupted = error is OperationCanceledException && interrupt.IsCancellationRequested;
            // A persisted request's run may outlive its reply, holding the token: its source is not reused.
            _owner._inFlight.Finish(id, interrupt, reusable: !persisted && error is null);
            var owner = _owner;
            lock (owner._servedPoolGate)
            {
                owner._servedPool.Push(this);
            }

            if (interrupted)
            {
                owner.ReleasePending(); // cancelled by the caller or the connection closed: nobody waits for a reply
            }
            else if (error is not null)
            {
                owner.QueueReply(owner.FailureFrame(id, error));
            }
            else
            {
                owner.QueueReply(new OutgoingFrame(FrameKind.Success, id, Payload: reply.Memory, Rented: reply.Array));
            }
        }

        private static bool IsPersisted(Frame frame) => (frame.Flags & (byte)FrameFlags.Persisted) != 0;
    }

    /// <summary>Queues a connection-level answer (a pong, a refused Hello), counted as pending like a request's reply.</summary>
    private async ValueTask AnswerAsync(OutgoingFrame answer)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            await SendAsync(answer).ConfigureAwait(false);
        }
        finally
        {
            ReleasePending();
        }
    }

    private void ReleasePending()
    {
        if (Interlocked.Decrement(ref _pending) < maxPending && Volatile.Read(ref _drained) is not null)
        {
            Interlocked.Exchange(ref _drained, null)?.TrySetResult();
        }
    }

    /// <summary>The read gate: open while fewer than <c>maxPending</c> replies are outstanding.</summary>
    public bool IsOpen => Volatile.Read(ref _pending) < maxPending;

    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        logger.LogDebug("Pausing reads from {Peer}: {Pending} replies outstanding", connection.Peer, Pending);
        while (!IsOpen)
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _drained, drained);
            if (IsOpen)
            {
                break; // a reply went out between the check and publishing the signal
            }

            await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask SendAsync(OutgoingFrame frame)
    {
        try
        {
            await connection.SendAsync(frame, _closed).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            frame.Release(); // the connection is gone; nobody is waiting for this reply
        }
    }
}
