using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// One outgoing connection to a runner. Many calls share it, correlated by request id; when the
/// connection ends every pending call fails with <see cref="RemoteErrorCode.RunnerUnavailable"/>.
/// A keep-alive ping every <see cref="RunnerSocketOptions.KeepAliveInterval"/> detects a runner
/// that vanished without closing the connection (Effect: a ping unanswered by the next tick fails it).
/// </summary>
internal sealed class RunnerClientConnection : IAsyncDisposable
{
    // Keep-alive pings use request id 0, which calls never use: their pongs complete nothing.
    private const long KeepAliveRequestId = 0;

    private readonly FrameConnection _connection;
    private readonly PendingCalls _pending = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _running;
    private readonly int _streamWindow;
    private long _nextRequestId;
    private string? _closeReason;
    private bool _rejected;

    private RunnerClientConnection(FrameConnection connection, TimeSpan keepAliveInterval, int streamWindow, ILogger logger)
    {
        _connection = connection;
        _streamWindow = streamWindow;
        _running = RunAsync(keepAliveInterval, logger);
    }

    public string Peer => _connection.Peer;

    public bool IsClosed => _closing.IsCancellationRequested;

    public static async Task<RunnerClientConnection> ConnectAsync(
        RunnerAddress runner, SocketConnectionContextFactory factory, ConnectionSecurity security, RunnerSocketOptions options,
        ILogger logger, CancellationToken cancellationToken)
    {
        var endPoint = SocketRunnerTransport.ToEndPoint(runner);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream,
            endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (endPoint is not UnixDomainSocketEndPoint)
            {
                socket.NoDelay = true;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeout);
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var pipe = await security.ConnectAsync(socket, factory, runner, cancellationToken).ConfigureAwait(false);
        var connection = new FrameConnection(pipe, options.MaxFrameSize, options.SendQueueCapacity, logger, runner.ToString());
        return new RunnerClientConnection(connection, options.KeepAliveInterval, options.StreamWindow, logger);
    }

    private async Task RunAsync(TimeSpan keepAliveInterval, ILogger logger)
    {
        await Task.Yield();
        var keepingAlive = keepAliveInterval > TimeSpan.Zero ? KeepAliveAsync(keepAliveInterval, logger) : Task.CompletedTask;
        try
        {
            await _connection.RunAsync(OnFrame, null, _closing.Token).ConfigureAwait(false);
        }
        catch (MalformedFrameException ex)
        {
            logger.LogError(ex, "Runner {Peer} sent a malformed frame; closing the connection", Peer);
        }
        catch (ClusterAuthenticationException ex)
        {
            logger.LogError("{Reason}", ex.Message);
            _closeReason = ex.Message;
            _rejected = true;
        }
        finally
        {
            await _closing.CancelAsync().ConfigureAwait(false);
            foreach (var call in _pending.Close())
            {
                call.Fail(ClosedError());
            }

            await keepingAlive.ConfigureAwait(false);
        }
    }

    private async Task KeepAliveAsync(TimeSpan interval, ILogger logger)
    {
        using var timer = new PeriodicTimer(interval);
        long pingSentAt = -1;
        var lastTick = Environment.TickCount64;
        var skipped = false;
        try
        {
            while (await timer.WaitForNextTickAsync(_closing.Token).ConfigureAwait(false))
            {
                // A tick far later than the interval means this process did not run (a GC pause, a starved VM): the
                // pong may be waiting unread in the socket, so judge the ping one tick later, once the reader had a
                // chance. Never twice in a row, so a dead path is still found within one extra interval.
                var now = Environment.TickCount64;
                var paused = now - lastTick > interval.TotalMilliseconds * 1.5;
                lastTick = now;
                if (paused && !skipped)
                {
                    skipped = true;
                    continue;
                }

                skipped = false;

                // Any frame since the last ping proves the runner alive (its pong may queue behind replies).
                if (pingSentAt >= 0 && _connection.LastReceived < pingSentAt)
                {
                    // A late timer fires missed ticks back to back: the ping must have had a whole interval to be answered.
                    // Until then its deadline stays where it is.
                    if (Environment.TickCount64 - pingSentAt < interval.TotalMilliseconds)
                    {
                        continue;
                    }

                    logger.LogWarning("Runner {Peer} did not answer a keep-alive ping within {Seconds} s; closing the connection", Peer, interval.TotalSeconds);
                    _closeReason = $"no answer to a keep-alive ping within {interval.TotalSeconds:0.#} s";
                    await _closing.CancelAsync().ConfigureAwait(false);
                    return;
                }

                // Never waits for room: with the send queue full and nothing coming back for an interval, the runner
                // counts as gone just the same (a runner that is only applying back-pressure still sends replies).
                pingSentAt = Environment.TickCount64;
                _connection.TrySend(new OutgoingFrame(FrameKind.Ping, KeepAliveRequestId));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Sends a request frame and waits for its single reply frame (Success), whose payload the caller then owns. The
    /// call takes <paramref name="payload"/> (disposed once written, or on failure). Nothing is allocated per call
    /// while the send queue has room: the pending call is a pooled <see cref="UnaryCall"/>.
    /// </summary>
    public ValueTask<PooledBytes> CallAsync(FrameKind kind, FrameFlags flags, PooledBytes payload, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            payload.Dispose();
            return ValueTask.FromCanceled<PooledBytes>(cancellationToken);
        }

        var call = UnaryCall.Rent();
        long id;
        try
        {
            id = Register(call);
        }
        catch
        {
            payload.Dispose();
            throw;
        }

        if (cancellationToken.CanBeCanceled)
        {
            call.CancelWith(this, id, cancellationToken);
        }

        var frame = new OutgoingFrame(kind, id, (byte)flags, null, payload.Array is null ? null : payload.Memory, payload.Array);
        return _connection.TrySend(frame) ? call.Reply : SendThenAwaitAsync(frame, id, call, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PooledBytes> SendThenAwaitAsync(OutgoingFrame frame, long id, UnaryCall call, CancellationToken cancellationToken)
    {
        await SendRequestAsync(frame, id, cancellationToken).ConfigureAwait(false);
        return await call.Reply.ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a stream request and yields each Chunk frame until StreamEnd. Grants the runner the stream window up front
    /// and, each time the caller has consumed half of it, as much again: a caller that stops reading stops the runner
    /// after at most a window of chunks, and this call never buffers more.
    /// </summary>
    public async IAsyncEnumerable<Frame> StreamAsync(FrameFlags flags, ReadOnlyMemory<byte> payload, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var window = _streamWindow;
        var grantEvery = Math.Max(1, window / 2);
        var call = new StreamCall(window);
        var id = Register(call);
        await SendRequestAsync(new OutgoingFrame(FrameKind.StreamRequest, id, (byte)flags, null, payload), id, cancellationToken).ConfigureAwait(false);
        var completed = false;
        try
        {
            await GrantAsync(id, window).ConfigureAwait(false);
            var consumed = 0;
            var frames = call.Frames;
            while (await frames.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (frames.TryRead(out var frame))
                {
                    yield return frame;

                    if (++consumed == grantEvery)
                    {
                        consumed = 0;
                        await GrantAsync(id, grantEvery).ConfigureAwait(false);
                    }
                }
            }

            completed = true;
        }
        finally
        {
            if (!completed && _pending.TryTake(id, out _))
            {
                _ = SendCancelAsync(id);
            }

            // A chunk the read loop is handing over right now is dropped by the ended call instead of left unread here.
            call.Abandon();
            while (call.Frames.TryRead(out var unread))
            {
                unread.Dispose();
            }
        }
    }

    /// <summary>Lets the runner send <paramref name="chunks"/> more chunks of stream <paramref name="id"/>.</summary>
    private ValueTask GrantAsync(long id, int chunks)
    {
        var credit = new OutgoingFrame(FrameKind.Credit, id, (byte)chunks);
        return _connection.TrySend(credit) ? ValueTask.CompletedTask : SendCreditWhenRoomAsync(credit);
    }

    private async ValueTask SendCreditWhenRoomAsync(OutgoingFrame credit)
    {
        try
        {
            await _connection.SendAsync(credit, _closing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // The connection is closing: it fails the call.
        }
    }

    /// <summary>Round-trips a Ping frame.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var pong = await CallAsync(FrameKind.Ping, FrameFlags.None, default, cancellationToken).ConfigureAwait(false);
    }

    private long Register(IPendingCall call)
    {
        var id = Interlocked.Increment(ref _nextRequestId);
        return IsClosed || !_pending.TryAdd(id, call) ? throw ClosedError() : id;
    }

    /// <summary>What a call on this closed connection fails with (a new instance per call).</summary>
    private ClusterException ClosedError() => _rejected
        ? new ClusterAuthenticationException(_closeReason!)
        : new RunnerUnavailableException(Peer, _closeReason ?? "the connection closed");

    private async ValueTask SendRequestAsync(OutgoingFrame frame, long id, CancellationToken cancellationToken)
    {
        try
        {
            await _connection.SendAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            frame.Release();
            _pending.TryTake(id, out _);
            if (ex is ChannelClosedException)
            {
                throw ClosedError();
            }

            throw;
        }
    }

    /// <summary>Tells the runner a call was cancelled (its pending call is failed here).</summary>
    internal void Cancel(long id, CancellationToken token)
    {
        if (_pending.TryTake(id, out var call))
        {
            call.Cancel(token);
            _ = SendCancelAsync(id);
        }
    }

    private async Task SendCancelAsync(long id)
    {
        try
        {
            await _connection.SendAsync(new OutgoingFrame(FrameKind.Cancel, id), _closing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    private void OnFrame(Frame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Failure when frame.Flags == (byte)RemoteErrorCode.Unauthorized:
                // The runner requires the cluster secret and this node has none: the connection is refused as a whole.
                frame.Dispose();
                throw new ClusterAuthenticationException($"Runner {Peer} refused the connection: {frame.Meta}; set the same Cluster:Socket:ClusterSecret on this node.");
            case FrameKind.Pong:
            case FrameKind.Success:
            case FrameKind.Failure:
                if (_pending.TryTake(frame.RequestId, out var call))
                {
                    call.Complete(frame);
                }
                else
                {
                    frame.Dispose(); // the caller gave up (cancelled) before the reply arrived
                }

                break;
            case FrameKind.Chunk:
                if (_pending.TryGet(frame.RequestId, out var stream))
                {
                    stream.Complete(frame);
                }
                else
                {
                    frame.Dispose();
                }

                break;
            case FrameKind.StreamEnd:
                if (_pending.TryTake(frame.RequestId, out var ended))
                {
                    ended.End();
                }

                frame.Dispose();
                break;
            default:
                frame.Dispose();
                throw new MalformedFrameException($"A runner may not send {frame.Kind} frames.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _closing.Dispose();
    }
}
