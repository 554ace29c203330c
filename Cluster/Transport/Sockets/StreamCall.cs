using System.Threading.Channels;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// A stream call's frames, read by its caller as they arrive. The runner sends no more chunks than the caller granted
/// (<see cref="RunnerSocketOptions.StreamWindow"/> ahead of what it consumed), so the buffer holds at most a window; a
/// runner that sends more breaks the protocol.
/// </summary>
internal sealed class StreamCall(int window) : IPendingCall
{
    private readonly Channel<Frame> _frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(window)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private volatile bool _ended;

    public ChannelReader<Frame> Frames => _frames.Reader;

    /// <summary>Takes a Chunk or Failure frame. Throws <see cref="MalformedFrameException"/> for a chunk beyond the granted window.</summary>
    public void Complete(Frame frame)
    {
        if (frame.Kind == FrameKind.Failure)
        {
            frame.Dispose();
            Finish(RemoteError.ToException((RemoteErrorCode)frame.Flags, frame.Meta ?? "Remote failure."));
        }
        else if (!_frames.Writer.TryWrite(frame))
        {
            frame.Dispose();
            if (!_ended)
            {
                throw new MalformedFrameException($"Runner sent more than the {window} chunks granted to stream {frame.RequestId}.");
            }
        }
    }

    public void End() => Finish(null);

    public void Fail(Exception error) => Finish(error);

    public void Cancel(CancellationToken token) => Finish(new OperationCanceledException(token));

    /// <summary>Ends the call (its caller stopped reading, or it was taken out of the table): later chunks are dropped.</summary>
    public void Abandon() => Finish(new OperationCanceledException());

    private void Finish(Exception? error)
    {
        // Before completing: a chunk the channel then refuses is one that came late, not one beyond the window.
        _ended = true;
        _frames.Writer.TryComplete(error);
    }
}
