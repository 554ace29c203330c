using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Serves one accepted connection: requests run concurrently (multiplexed by request id), each
/// reply is queued on the connection's write loop, and a Cancel frame interrupts its request.
/// At most <c>maxPending</c> requests and pings may await their reply; beyond that the connection
/// is not read until replies drain, which pushes back on the peer through TCP.
/// </summary>
internal sealed class RunnerServerConnection(FrameConnection connection, IRunnerRpcHandler handler, int maxPending, ILogger logger) : IReadGate
{
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _inFlight = new();
    private CancellationToken _closed;
    private int _pending;
    private TaskCompletionSource? _drained;

    /// <summary>Requests and pings whose reply is not yet queued.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public FrameConnection Frames => connection;

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
            foreach (var (_, cts) in _inFlight)
            {
                await cts.CancelAsync().ConfigureAwait(false);
            }
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
                if (_inFlight.TryGetValue(frame.RequestId, out var cts))
                {
                    cts.Cancel();
                }

                break;
            case FrameKind.Request:
            case FrameKind.StreamRequest:
            case FrameKind.Envelope:
            case FrameKind.Notify:
                // Not linked to the connection's token (a registration per request, contended under load):
                // closing the connection cancels every in-flight request's source instead.
                var requestCts = new CancellationTokenSource();
                if (!_inFlight.TryAdd(frame.RequestId, requestCts))
                {
                    requestCts.Dispose();
                    frame.Dispose();
                    throw new MalformedFrameException($"Request id {frame.RequestId} is already in flight on this connection.");
                }

                Interlocked.Increment(ref _pending);
                _ = ServeAsync(frame, requestCts);
                break;
            default:
                frame.Dispose();
                throw new MalformedFrameException($"A client may not send {frame.Kind} frames.");
        }
    }

    private async Task ServeAsync(Frame frame, CancellationTokenSource cts)
    {
        var id = frame.RequestId;
        var persisted = (frame.Flags & (byte)FrameFlags.Persisted) != 0;
        try
        {
            switch (frame.Kind)
            {
                case FrameKind.Request:
                    var reply = await handler.HandleRequestAsync(frame.Payload, persisted, cts.Token).ConfigureAwait(false);
                    await SendAsync(new OutgoingFrame(FrameKind.Success, id, Payload: reply)).ConfigureAwait(false);
                    break;
                case FrameKind.StreamRequest:
                    await foreach (var chunk in handler.HandleStreamAsync(frame.Payload, persisted, cts.Token).ConfigureAwait(false))
                    {
                        await SendAsync(new OutgoingFrame(FrameKind.Chunk, id, Payload: chunk)).ConfigureAwait(false);
                    }

                    await SendAsync(new OutgoingFrame(FrameKind.StreamEnd, id)).ConfigureAwait(false);
                    break;
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
            var (code, message) = RemoteError.From(ex);
            if (code == RemoteErrorCode.Internal)
            {
                logger.LogError(ex, "Runner RPC {RequestId} from {Peer} failed", id, connection.Peer);
            }

            await SendAsync(new OutgoingFrame(FrameKind.Failure, id, (byte)code, message)).ConfigureAwait(false);
        }
        finally
        {
            frame.Dispose();
            // Not disposed: a Cancel frame or the connection closing may still cancel it, and a source without
            // a timer or links holds nothing that needs disposing.
            _inFlight.TryRemove(id, out _);
            ReleasePending();
        }
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
