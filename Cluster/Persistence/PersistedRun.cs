using System.Threading.Channels;
using SocketRunnerAspire.Cluster.Storage;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// A persisted request being handled on its owner. Every path that delivers the request (a direct RPC, a local
/// send, the storage read loop) shares this one run, so a request never runs twice at once on a runner.
/// </summary>
internal sealed class PersistedRun(PersistedRequest request, int lastChunk, bool followed, PersistedReply? lastSentChunk = null)
{
    private readonly Channel<PersistedReply> _chunks = Channel.CreateUnbounded<PersistedReply>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private int _acked = -1;
    private TaskCompletionSource _ackChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PersistedRequest Request { get; } = request;

    /// <summary>Last stream chunk saved before this run (a resumed stream skips up to it).</summary>
    public int LastChunk { get; } = lastChunk;

    /// <summary>The chunk <see cref="LastChunk"/> itself when storage returned it (a resume-aware stream continues from its item).</summary>
    public PersistedReply? LastSentChunk { get; } = lastSentChunk;

    /// <summary>A caller reads <see cref="Chunks"/> (stream delivered directly rather than through storage).</summary>
    public bool Followed { get; } = followed;

    /// <summary>Cancelled by an interrupt from the caller.</summary>
    public CancellationTokenSource Interrupt { get; } = new();

    /// <summary>The final reply once it is saved; faulted with EntityNotAssignedToRunner when the run was abandoned unsaved.</summary>
    public TaskCompletionSource<PersistedReply> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Saved stream chunks, for the caller that follows this run directly.</summary>
    public ChannelReader<PersistedReply> Chunks => _chunks.Reader;

    public void Publish(PersistedReply chunk)
    {
        if (Followed)
        {
            _chunks.Writer.TryWrite(chunk);
        }
    }

    public void Ack(int sequence)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (sequence <= _acked)
            {
                return;
            }

            _acked = sequence;
            changed = _ackChanged;
            _ackChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>True once chunk <paramref name="sequence"/> is acknowledged; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitForAckAsync(int sequence, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_gate)
        {
            if (_acked >= sequence)
            {
                return true;
            }

            changed = _ackChanged.Task;
        }

        try
        {
            await changed.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        lock (_gate)
        {
            return _acked >= sequence;
        }
    }

    public void Complete(PersistedReply final)
    {
        _chunks.Writer.TryComplete();
        Done.TrySetResult(final);
    }

    public void Abandon(Exception reason)
    {
        _chunks.Writer.TryComplete(reason);
        Done.TrySetException(reason);
    }
}
