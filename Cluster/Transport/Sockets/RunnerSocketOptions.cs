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
}
