namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>What a runner does with the runner RPCs it receives; implemented by <see cref="Sharding"/>.</summary>
public interface IRunnerRpcHandler
{
    /// <summary>
    /// Effect RPC: delivers the request and returns the encoded reply, which the transport disposes once sent.
    /// <paramref name="envelope"/> stays valid until the returned task completes.
    /// </summary>
    ValueTask<PooledBytes> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken);

    /// <summary>Stream RPC: delivers the request and yields the encoded replies.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken);

    /// <summary>Notify RPC.</summary>
    Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken);

    /// <summary>Envelope RPC (ack chunk / interrupt of a persisted request).</summary>
    Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken);
}
