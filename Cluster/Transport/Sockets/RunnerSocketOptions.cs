namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Limits, timeouts and security of the runner socket protocol (configuration section <c>Cluster:Socket</c>).</summary>
public sealed class RunnerSocketOptions
{
    private int _streamWindow = 32;

    /// <summary>Largest accepted frame body; a bigger frame closes the connection. Default 4 MiB.</summary>
    public int MaxFrameSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Frames queued per connection before senders wait (back-pressure). Default 1024.</summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Requests (and pings) a server connection runs or holds replies for at once. Beyond it the server stops
    /// reading that connection until replies drain, so a peer that sends without reading pushes back through TCP
    /// instead of growing the runner's memory. Default 4096.
    /// </summary>
    public int MaxPendingRequestsPerConnection { get; set; } = 4096;

    /// <summary>Most <see cref="StreamWindow"/> can be: a credit frame grants up to this many chunks.</summary>
    public const int MaxStreamWindow = byte.MaxValue;

    /// <summary>
    /// Chunks of a stream a runner may send ahead of what the caller consumed (credit, as Effect's RPC <c>Ack</c>). The
    /// caller grants the window when it opens the stream and grants again each time it has consumed half of it; a
    /// runner without credit stops taking items from the entity's stream, so a slow consumer pushes back on the
    /// producer and the caller buffers at most this many chunks. 1 to <see cref="MaxStreamWindow"/>; default 32.
    /// </summary>
    public int StreamWindow
    {
        get => _streamWindow;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxStreamWindow);
            _streamWindow = value;
        }
    }

    /// <summary>How long opening a connection to a runner may take. Default 1 s (as Effect).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the TLS and cluster-secret handshakes of a new connection may take, on either side. Default 5 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A client pings each runner connection this often; a connection whose ping is still unanswered at the next
    /// tick is closed and its calls fail with <c>RunnerUnavailable</c> (half-open connections). Effect: 5 s. Zero disables.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A server closes a connection that sent nothing (not even a ping) for this long: its peer is gone without
    /// a FIN or RST. Default 30 s (six client pings). Zero disables.
    /// </summary>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A secret every runner and client of the cluster shares. When set, a connection proves knowledge of it both
    /// ways (HMAC-SHA256 challenge and response; the secret never crosses the wire) before any RPC, and a server
    /// closes connections that do not. Null (default) accepts any connection: bind to a private network then.
    /// </summary>
    public string? ClusterSecret { get; set; }

    /// <summary>
    /// The protocol of this node's outgoing runner calls: <see cref="RunnerProtocol.Native"/> (default) or
    /// <see cref="RunnerProtocol.Effect"/>, to call entities hosted on Effect TS runners (volatile requests and streams).
    /// </summary>
    public RunnerProtocol Protocol { get; set; } = RunnerProtocol.Native;

    /// <summary>
    /// Whether the runner's port also serves Effect's socket runner protocol with ndjson serialization (Effect TS nodes
    /// configured with <c>NodeClusterSocket.layer({ serialization: "ndjson" })</c>), told apart from native connections by
    /// their first byte. Effect's protocol has neither TLS nor the cluster secret: with either configured, Effect
    /// connections are refused (and logged) whatever this says. Default true.
    /// </summary>
    public bool AcceptEffectProtocol { get; set; } = true;

    /// <summary>TLS on the runner protocol. Off unless <see cref="RunnerTlsOptions.Enabled"/>.</summary>
    public RunnerTlsOptions Tls { get; set; } = new();

    /// <summary>
    /// Runs socket completions (and the frame reads and writes they resume) on the I/O thread instead of
    /// queueing them to the thread pool: one thread hop less per frame. Safe here because frame callbacks
    /// never block; handlers run on entity workers. Default true.
    /// </summary>
    public bool InlineSocketScheduling { get; set; } = true;
}
