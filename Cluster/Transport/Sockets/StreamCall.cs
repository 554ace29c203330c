using System.Threading.Channels;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>A stream call's frames, read by its caller as they arrive.</summary>
internal sealed class StreamCall : IPendingCall
{
    private readonly Channel<Frame> _frames = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public ChannelReader<Frame> Frames => _frames.Reader;

    public void Complete(Frame frame)
    {
        if (frame.Kind == FrameKind.Failure)
        {
            frame.Dispose();
            _frames.Writer.TryComplete(RemoteError.ToException((RemoteErrorCode)frame.Flags, frame.Meta ?? "Remote failure."));
        }
        else if (!_frames.Writer.TryWrite(frame))
        {
            frame.Dispose();
        }
    }

    public void End() => _frames.Writer.TryComplete();

    public void Fail(Exception error) => _frames.Writer.TryComplete(error);

    public void Cancel(CancellationToken token) => _frames.Writer.TryComplete(new OperationCanceledException(token));
}
