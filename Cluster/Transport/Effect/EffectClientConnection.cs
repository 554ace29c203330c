using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// A C# node's connection to a runner in Effect's RPC protocol with ndjson serialization (as Effect's runner client):
/// RPCs multiplexed by a counting number id, a stream's chunks acknowledged one by one, a keep-alive ping each
/// <see cref="RunnerSocketOptions.KeepAliveInterval"/> (a ping unanswered by the next tick closes the connection).
/// When the connection closes, every call on it fails with <see cref="RunnerUnavailableException"/>, which senders retry.
/// </summary>
internal sealed partial class EffectClientConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly EffectLineWriter _writer;
    private readonly RunnerAddress _runner;
    private readonly int _maxLine;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, Channel<(EffectServerFrame Frame, PooledBytes Line)>> _calls = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _running;
    private long _nextId;
    private volatile bool _closed;
    private volatile bool _awaitingPong;

    private EffectClientConnection(Socket socket, RunnerAddress runner, RunnerSocketOptions options, ILogger logger)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream);
        _output = PipeWriter.Create(_stream);
        _writer = new EffectLineWriter(_output, options.SendQueueCapacity);
        _runner = runner;
        _maxLine = options.MaxFrameSize;
        _logger = logger;
        _running = Task.WhenAll(ReadLoopAsync(), WriteLoopAsync(), KeepAliveAsync(options.KeepAliveInterval));
    }

    public bool IsClosed => _closed;

    /// <summary>Connects within <see cref="RunnerSocketOptions.ConnectTimeout"/>; failure is a <see cref="RunnerUnavailableException"/>.</summary>
    public static async Task<EffectClientConnection> ConnectAsync(RunnerAddress runner, RunnerSocketOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var socket = runner.IsUnixSocket
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(runner), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new RunnerUnavailableException(runner.ToString(), ex is OperationCanceledException ? "connecting timed out" : ex.Message);
        }

        return new EffectClientConnection(socket, runner, options, logger);
    }

    /// <summary>An <c>Effect</c> RPC for <paramref name="envelope"/>; returns the entity's reply value as JSON, or throws its failure.</summary>
    public async ValueTask<PooledBytes> RequestAsync(long requestId, Envelope envelope, CancellationToken cancellationToken)
    {
        var (id, frames) = Open();
        var answered = false;
        try
        {
            _writer.Send(EffectClientRequests.EntityRequest(id, "Effect", requestId, envelope));
            var (frame, line) = await NextAsync(frames, cancellationToken).ConfigureAwait(false);
            using (line)
            {
                answered = true;
                var reply = frame.Kind == EffectServerFrameKind.Exit ? EffectExits.ValueOrThrow(frame.Body) : throw Unexpected(frame);
                if (!EffectReplyReader.IsWithExit(reply, out var exit))
                {
                    throw new MalformedMessageException("An Effect RPC answered with a Chunk reply.");
                }

                return PooledBytes.CopyOf(EffectExits.ValueOrThrow(exit).Span);
            }
        }
        finally
        {
            Finish(id, interrupt: !answered);
        }
    }

    /// <summary>
    /// A <c>Stream</c> RPC for <paramref name="envelope"/>: yields each item's JSON, acknowledging every RPC chunk (<c>Ack</c>) and
    /// every entity chunk (an <c>AckChunk</c> envelope, with an id from <paramref name="newId"/>), as Effect's sender does.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(long requestId, Envelope envelope, Func<long> newId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (id, frames) = Open();
        var ended = false;
        try
        {
            _writer.Send(EffectClientRequests.EntityRequest(id, "Stream", requestId, envelope));
            while (true)
            {
                var (frame, line) = await NextAsync(frames, cancellationToken).ConfigureAwait(false);
                List<ReadOnlyMemory<byte>> items = [];
                using (line)
                {
                    if (frame.Kind == EffectServerFrameKind.Exit)
                    {
                        ended = true;
                        EffectExits.ValueOrThrow(frame.Body);
                        yield break;
                    }

                    if (frame.Kind != EffectServerFrameKind.Chunk)
                    {
                        throw Unexpected(frame);
                    }

                    foreach (var reply in EffectReplyReader.Elements(frame.Body))
                    {
                        if (EffectReplyReader.IsWithExit(reply, out var body, out var replyId))
                        {
                            EffectExits.ValueOrThrow(body); // the stream's end, or its failure
                        }
                        else
                        {
                            items.AddRange(EffectReplyReader.Elements(body).Select(item => (ReadOnlyMemory<byte>)item.ToArray()));
                            // Its answer is not awaited (an id no call waits on: the read loop drops it).
                            _writer.Send(EffectClientRequests.AckChunk(Interlocked.Increment(ref _nextId), newId(), envelope, requestId, replyId));
                        }
                    }
                }

                _writer.Send(EffectClientRequests.Ack(id));
                foreach (var item in items)
                {
                    yield return item;
                }
            }
        }
        finally
        {
            Finish(id, interrupt: !ended);
        }
    }

    /// <summary>The <c>Ping</c> RPC.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        var (id, frames) = Open();
        var answered = false;
        try
        {
            _writer.Send(EffectClientRequests.PingRpc(id));
            var (frame, line) = await NextAsync(frames, cancellationToken).ConfigureAwait(false);
            using (line)
            {
                answered = true;
                _ = frame.Kind == EffectServerFrameKind.Exit ? EffectExits.ValueOrThrow(frame.Body) : throw Unexpected(frame);
            }
        }
        finally
        {
            Finish(id, interrupt: !answered);
        }
    }

    private (long Id, Channel<(EffectServerFrame, PooledBytes)> Frames) Open()
    {
        if (_closed)
        {
            throw new RunnerUnavailableException(_runner.ToString(), "the connection closed");
        }

        var id = Interlocked.Increment(ref _nextId);
        var frames = Channel.CreateUnbounded<(EffectServerFrame, PooledBytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _calls[id] = frames;
        if (_closed && _calls.TryRemove(id, out _))
        {
            throw new RunnerUnavailableException(_runner.ToString(), "the connection closed");
        }

        return (id, frames);
    }

    private static async ValueTask<(EffectServerFrame Frame, PooledBytes Line)> NextAsync(Channel<(EffectServerFrame, PooledBytes)> frames, CancellationToken cancellationToken)
    {
        try
        {
            return await frames.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex) when (ex.InnerException is { } reason)
        {
            throw reason;
        }
    }

    /// <summary>The call is done; one the runner has not finished is interrupted there (the caller gave up).</summary>
    private void Finish(long id, bool interrupt)
    {
        if (_calls.TryRemove(id, out var frames))
        {
            frames.Writer.TryComplete();
            while (frames.Reader.TryRead(out var left))
            {
                left.Item2.Dispose();
            }

            if (interrupt && !_closed)
            {
                _writer.Send(EffectClientRequests.Interrupt(id));
            }
        }
    }

    private static MalformedMessageException Unexpected(EffectServerFrame frame) => new($"The runner answered with an unexpected {frame.Kind} frame.");

    public async ValueTask DisposeAsync()
    {
        Close("the node closed the connection");
        await _running.ConfigureAwait(false);
        _closing.Dispose();
    }
}
