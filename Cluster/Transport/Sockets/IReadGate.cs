namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Lets a connection's consumer stop its read loop between frames until it has room again (back-pressure).</summary>
internal interface IReadGate
{
    /// <summary>True while more frames may be read.</summary>
    bool IsOpen { get; }

    /// <summary>Completes once <see cref="IsOpen"/> is true again.</summary>
    ValueTask WaitAsync(CancellationToken cancellationToken);
}
