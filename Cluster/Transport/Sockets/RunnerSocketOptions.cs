namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Limits and timeouts of the runner socket protocol.</summary>
public sealed class RunnerSocketOptions
{
    /// <summary>Largest accepted frame body; a bigger frame closes the connection. Default 4 MiB.</summary>
    public int MaxFrameSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Frames queued per connection before senders wait (back-pressure). Default 1024.</summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>How long opening a connection to a runner may take. Default 1 s (as Effect).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs socket completions (and the frame reads and writes they resume) on the I/O thread instead of
    /// queueing them to the thread pool: one thread hop less per frame. Safe here because frame callbacks
    /// never block; handlers run on entity workers. Default true.
    /// </summary>
    public bool InlineSocketScheduling { get; set; } = true;
}
