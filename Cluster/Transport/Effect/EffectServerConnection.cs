using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Serves one connection that speaks Effect's RPC protocol with ndjson serialization (an Effect TS node's runner client):
/// one JSON frame per line each way, RPCs of the <c>Runners.Rpcs</c> group run concurrently by request id, a stream sends
/// its next chunk only after the client's <c>Ack</c>. A bad line is answered as Effect's server answers it (a <c>Defect</c>,
/// or the request's <c>Exit</c> with a <c>Die</c>) and the connection goes on; a line longer than the frame limit closes it.
/// Replies go through one write loop, which flushes once per burst.
/// </summary>
internal sealed partial class EffectServerConnection
{
    private readonly IDuplexPipe _pipe;
    private readonly IEffectRpcHandler _handler;
    private readonly EffectVolatileRequests _volatile;
    private readonly int _maxLine;
    private readonly int _maxPending;
    private readonly ILogger _logger;
    private readonly EffectLineWriter _writer;
    private readonly Dictionary<EffectRequestId, EffectServedRpc> _running = [];
    private readonly CancellationTokenSource _closing = new();
    private long _lastReceived = Environment.TickCount64;
    private int _pending;
    private bool _ended;
    private TaskCompletionSource? _drained;

    public EffectServerConnection(IDuplexPipe pipe, IEffectRpcHandler handler, EffectVolatileRequests volatileRequests,
        int maxLine, int sendQueueCapacity, int maxPending, ILogger logger, string peer)
    {
        _pipe = pipe;
        _handler = handler;
        _volatile = volatileRequests;
        _maxLine = maxLine;
        _maxPending = maxPending;
        _logger = logger;
        Peer = peer;
        _writer = new EffectLineWriter(pipe.Output, sendQueueCapacity);
    }

    public string Peer { get; }

    /// <summary><see cref="Environment.TickCount64"/> when the peer last sent anything (for closing idle connections).</summary>
    public long LastReceived => Volatile.Read(ref _lastReceived);

    /// <summary>RPCs running on this connection.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Serves until the peer closes, sends <c>Eof</c> and its RPCs are done, or <paramref name="cancellationToken"/> closes the connection.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Closed from outside (the server stopping, an idle connection): a flush waiting for a peer that does not read ends too.
        using var link = cancellationToken.Register(static s =>
        {
            var connection = (EffectServerConnection)s!;
            connection.Close();
            connection._writer.Abort();
        }, this);
        var writing = WriteLoopAsync();
        try
        {
            await ReadLoopAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (IOException ex)
        {
            LogReset(_logger, Peer, ex.Message); // the peer reset the connection
        }
        finally
        {
            EffectServedRpc[] running;
            lock (_running)
            {
                running = [.. _running.Values];
                _ended = true;
            }

            foreach (var rpc in running)
            {
                rpc.Interrupt(); // the connection is gone: its RPCs stop (their replies are dropped)
            }

            _writer.Complete();

            await writing.ConfigureAwait(false);
            _closing.Dispose();
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var input = _pipe.Input;
        while (true)
        {
            if (Volatile.Read(ref _pending) >= _maxPending)
            {
                await WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
            }

            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _lastReceived, Environment.TickCount64);
            var buffer = result.Buffer;
            while (EffectJsonLine.TryRead(ref buffer, out var line))
            {
                OnLine(line);
            }

            if (buffer.Length > _maxLine)
            {
                input.AdvanceTo(buffer.End);
                throw new MalformedFrameException($"an Effect protocol line is longer than {_maxLine} bytes");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    private void OnLine(ReadOnlySequence<byte> line)
    {
        if (line.Length > _maxLine)
        {
            throw new MalformedFrameException($"an Effect protocol line is longer than {_maxLine} bytes");
        }

        if (IsBlank(line))
        {
            return;
        }

        var bytes = PooledBytes.CopyOf(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        EffectClientFrame frame;
        try
        {
            frame = EffectClientFrameDecoder.Decode(bytes.Memory);
        }
        catch (EffectProtocolException ex)
        {
            bytes.Dispose();
            LogBadFrame(_logger, Peer, ex.Message);
            Send(ex.RequestId is { } id
                ? EffectServerFrames.ExitFailure(id, EffectFailure.Die(EffectDefect.Text(ex.Message)))
                : EffectServerFrames.Defect(EffectDefect.Text(ex.Message)));
            return;
        }

        if (frame.Kind != EffectClientFrameKind.Request)
        {
            bytes.Dispose();
            OnControl(frame);
            return;
        }

        switch (frame.Tag)
        {
            case "Ping":
                bytes.Dispose();
                Send(EffectServerFrames.ExitSuccess(frame.Id, default));
                break;
            case "Effect":
            case "Stream":
            case "Envelope":
            case "Notify":
                Start(frame, bytes);
                break;
            default:
                bytes.Dispose();
                Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(EffectDefect.Text($"Unknown request tag: {frame.Tag}"))));
                break;
        }
    }

    private void OnControl(EffectClientFrame frame)
    {
        switch (frame.Kind)
        {
            case EffectClientFrameKind.Ping:
                Send(PooledBytes.CopyOf(EffectServerFrames.Pong.Span));
                break;
            case EffectClientFrameKind.Ack:
                Find(frame.Id)?.Ack();
                break;
            case EffectClientFrameKind.Interrupt:
                if (Find(frame.Id) is { } rpc)
                {
                    rpc.Interrupt();
                }
                else
                {
                    Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Interrupted)); // as Effect answers an unknown id
                }

                break;
            case EffectClientFrameKind.Eof:
                bool idle;
                lock (_running)
                {
                    _ended = true;
                    idle = _running.Count == 0;
                }

                if (idle)
                {
                    Close();
                }

                break;
        }
    }

    private void Start(EffectClientFrame frame, PooledBytes line)
    {
        var rpc = new EffectServedRpc(frame.Id, frame.Tag == "Stream");
        bool started;
        lock (_running)
        {
            started = !_ended && _running.TryAdd(frame.Id, rpc);
        }

        if (!started)
        {
            line.Dispose();
            if (!_ended)
            {
                Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(EffectDefect.Text($"Request id {frame.Id} is already in flight on this connection."))));
            }

            return;
        }

        Interlocked.Increment(ref _pending);
        _ = ServeAsync(frame, line, rpc);
    }

    private EffectServedRpc? Find(EffectRequestId id)
    {
        lock (_running)
        {
            return _running.GetValueOrDefault(id);
        }
    }

    private void Finish(EffectServedRpc rpc)
    {
        _volatile.Remove(rpc);
        bool close;
        lock (_running)
        {
            _running.Remove(rpc.Id);
            close = _ended && _running.Count == 0;
        }

        if (Interlocked.Decrement(ref _pending) < _maxPending)
        {
            Interlocked.Exchange(ref _drained, null)?.TrySetResult();
        }

        if (close)
        {
            Close(); // after Eof, the last RPC is done: end the connection (its replies are queued before)
        }
    }

    private async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _pending) >= _maxPending)
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _drained, drained);
            if (Volatile.Read(ref _pending) < _maxPending)
            {
                break;
            }

            await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Send(PooledBytes line) => _writer.Send(line);

    private async Task WriteLoopAsync()
    {
        if (await _writer.RunAsync().ConfigureAwait(false) is { } reason)
        {
            LogWriteFailed(_logger, Peer, reason);
        }

        Close();
    }

    private void Close()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bad Effect protocol frame from {Peer}, answered and skipped: {Reason}")]
    private static partial void LogBadFrame(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Effect protocol RPC {Tag} {RequestId} from {Peer} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string? tag, string requestId, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Effect protocol connection from {Peer} reset: {Reason}")]
    private static partial void LogReset(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Writing to Effect protocol peer {Peer} failed: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string peer, string reason);
}
