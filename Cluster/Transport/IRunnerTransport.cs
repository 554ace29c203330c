using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>
/// Runner-to-runner calls (the outgoing side of the runner protocol). Payloads are encoded envelopes
/// and replies; typed cluster errors raised by the remote runner surface as the same exception types.
/// Implementations: <see cref="Memory.InMemoryRunnerTransport"/> (one process) and the socket transport.
/// </summary>
public interface IRunnerTransport
{
    /// <summary>
    /// Effect RPC: request → one reply. The transport owns <paramref name="envelope"/> from the call on (it disposes it
    /// once sent, or on failure); the caller owns, and disposes, the reply.
    /// </summary>
    ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken);

    /// <summary>Stream RPC: request → stream of replies.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken);

    /// <summary>Notify RPC: a persisted message is waiting in storage.</summary>
    Task NotifyAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken);

    /// <summary>Envelope RPC: a stream chunk acknowledgement or an interrupt for a persisted request.</summary>
    Task SendEnvelopeAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken);

    /// <summary>
    /// How envelopes sent through this transport carry their entity payload, and replies come back: MessagePack (the
    /// default), or JSON for a transport speaking Effect's protocol. Only volatile sends follow it (persisted ones are stored
    /// natively).
    /// </summary>
    PayloadFormat PayloadFormat => PayloadFormat.MessagePack;

    /// <summary>Ping RPC: completes when the runner answers.</summary>
    Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken);

    /// <summary>Starts serving the runner protocol for <paramref name="handler"/> at <paramref name="address"/>.</summary>
    Task<IAsyncDisposable> ListenAsync(RunnerAddress address, IRunnerRpcHandler handler, CancellationToken cancellationToken);

    /// <summary>Drops cached connections to a runner that left or stopped answering.</summary>
    void OnRunnerUnavailable(RunnerAddress runner);

    /// <summary>
    /// The node sending through this transport stopped: the volatile requests and streams it sent that still run on
    /// other runners are interrupted there (Effect interrupts them on shutdown). Persisted requests are not: their runs
    /// go on and only the waiting for their replies ends. The socket transport closes its outgoing connections (a runner
    /// interrupts what it serves on a connection that closes); the default, for a transport that several nodes share
    /// (in-memory), does nothing.
    /// </summary>
    ValueTask InterruptSentAsync() => ValueTask.CompletedTask;
}
