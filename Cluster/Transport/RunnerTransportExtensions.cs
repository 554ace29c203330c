using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>Conveniences over <see cref="IRunnerTransport"/> for callers off the hot path.</summary>
public static class RunnerTransportExtensions
{
    /// <summary>Effect RPC with plain arrays: sends a copy of <paramref name="envelope"/> and returns a copy of the reply.</summary>
    public static async Task<ReadOnlyMemory<byte>> RequestAsync(this IRunnerTransport transport, RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
    {
        using var reply = await transport.RequestAsync(runner, PooledBytes.CopyOf(envelope.Span), persisted, cancellationToken).ConfigureAwait(false);
        return reply.Memory.ToArray();
    }
}
