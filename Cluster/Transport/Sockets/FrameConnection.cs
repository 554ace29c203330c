using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Frames over a duplex pipe. Writers enqueue into a bounded channel; a single write loop encodes
/// everything queued and flushes once per batch (coalesced writes, no lock around I/O, and a peer
/// that stops reading pushes back on senders instead of growing memory). The read loop hands each
/// complete frame to a callback that must not block, and before each read awaits an optional gate,
/// so a server can stop reading a peer that does not take its replies.
/// </summary>
internal sealed class FrameConnection
{
    private readonly IDuplexPipe _pipe;
    private readonly int _maxFrameSize;
    private readonly ILogger _logger;
    private readonly Channel<OutgoingFrame> _outgoing;
    private long _lastReceived = Environment.TickCount64;

    public FrameConnection(IDuplexPipe pipe, int maxFrameSize, int sendQueueCapacity, ILogger logger, string peer)
    {
        _pipe = pipe;
        _maxFrameSize = maxFrameSize;
        _logger = logger;
        Peer = peer;
        _outgoing = Channel.CreateBounded<OutgoingFrame>(new BoundedChannelOptions(sendQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The remote end, for logs.</summary>
    public string Peer { get; }

    /// <summary><see cref="Environment.TickCount64"/> when bytes last arrived (or the connection opened).</summary>
    public long LastReceived => Volatile.Read(ref _lastReceived);

    /// <summary>Queues a frame only if the send queue has room; false when it is full or the connection closed.</summary>
    public bool TrySend(in OutgoingFrame frame) => _outgoing.Writer.TryWrite(frame);

    /// <summary>Queues a frame; waits while the send queue is full. Fails once the connection is closed.</summary>
    public ValueTask SendAsync(in OutgoingFrame frame, CancellationToken cancellationToken)
    {
        if (_outgoing.Writer.TryWrite(frame))
        {
            return ValueTask.CompletedTask;
        }

        return _outgoing.Writer.WriteAsync(frame, cancellationToken);
    }

    /// <summary>
    /// Runs the read and write loops until the peer closes, a frame is malformed, or cancellation.
    /// While <paramref name="readGate"/> is closed no further frame is parsed or read.
    /// </summary>
    public async Task RunAsync(Action<Frame> onFrame, IReadGate? readGate, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = WriteLoopAsync(stop.Token);
        try
        {
            await ReadLoopAsync(onFrame, readGate, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            _outgoing.Writer.TryComplete();
            await stop.CancelAsync().ConfigureAwait(false);
            await writing.ConfigureAwait(false);
            while (_outgoing.Reader.TryRead(out var unsent))
            {
                unsent.Release();
            }

            await _pipe.Input.CompleteAsync().ConfigureAwait(false);
            await _pipe.Output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(Action<Frame> onFrame, IReadGate? readGate, CancellationToken cancellationToken)
    {
        var input = _pipe.Input;
        while (true)
        {
            ReadResult result;
            try
            {
                if (readGate is { IsOpen: false })
                {
                    await readGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _lastReceived, Environment.TickCount64);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            {
                _logger.LogDebug(ex, "Connection to {Peer} reset", Peer);
                return;
            }

            var buffer = result.Buffer;
            var examined = buffer.End;
            try
            {
                while (FrameCodec.TryRead(ref buffer, _maxFrameSize, out var frame))
                {
                    onFrame(frame);
                    if (readGate is { IsOpen: false })
                    {
                        // Leave the rest unparsed (and unexamined, so the next read returns it at once) until the gate opens.
                        examined = buffer.Start;
                        break;
                    }
                }

                if (examined.Equals(buffer.End) && (result.IsCompleted || result.IsCanceled))
                {
                    if (!buffer.IsEmpty)
                    {
                        throw new MalformedFrameException($"Connection closed inside a frame ({buffer.Length} bytes of a truncated frame).");
                    }

                    return;
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, examined);
            }
        }
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var output = _pipe.Output;
        var scratch = new ArrayBufferWriter<byte>(4096);
        var reader = _outgoing.Reader;
        // Waiting without a token lets the channel reuse its one waiter instead of allocating one per wait (once per
        // frame at low load); cancellation closes the queue instead, which ends the wait.
        using var stop = cancellationToken.UnsafeRegister(static writer => ((ChannelWriter<OutgoingFrame>)writer!).TryComplete(), _outgoing.Writer);
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    try
                    {
                        var payload = frame.Payload;
                        FrameCodec.Write(output, scratch, frame.Kind, frame.RequestId, frame.Flags, frame.Meta,
                            payload.HasValue ? payload.Value.Span : default, payload.HasValue);
                    }
                    finally
                    {
                        frame.Release();
                    }
                }

                var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionResetException or InvalidOperationException)
        {
            _logger.LogDebug(ex, "Writing to {Peer} failed", Peer);
        }
        finally
        {
            _outgoing.Writer.TryComplete();
        }
    }
}
