using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The write side of an Effect protocol connection: lines are queued from any thread (bounded; a full queue makes the
/// sender wait) and one loop writes them, flushing once per burst. Lines queued after the writer completed are dropped.
/// </summary>
internal sealed class EffectLineWriter(PipeWriter output, int capacity)
{
    private readonly Channel<PooledBytes> _queue = Channel.CreateBounded<PooledBytes>(new BoundedChannelOptions(capacity) { SingleReader = true });

    /// <summary>Queues <paramref name="line"/>, which the writer disposes once written (or dropped).</summary>
    public void Send(PooledBytes line)
    {
        if (!_queue.Writer.TryWrite(line))
        {
            _ = SendWhenRoomAsync(line);
        }
    }

    /// <summary>Nothing more will be sent: the loop writes what is queued, then ends.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Stops a flush that waits for a peer that does not read (the connection is being torn down).</summary>
    public void Abort() => output.CancelPendingFlush();

    /// <summary>Writes until <see cref="Complete"/> and the queue is drained, or the peer is gone (then returns the reason).</summary>
    public async Task<string?> RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var line))
                {
                    using (line)
                    {
                        output.Write(line.Memory.Span);
                    }
                }

                var flushed = await output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return "the peer stopped reading";
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            return ex.Message;
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var line))
            {
                line.Dispose();
            }
        }
    }

    private async Task SendWhenRoomAsync(PooledBytes line)
    {
        try
        {
            await _queue.Writer.WriteAsync(line).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            line.Dispose();
        }
    }
}
