using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport.Memory;

/// <summary>
/// Runners of one process talking through a shared in-memory "network": every call copies its bytes,
/// so it behaves like a real transport (no shared objects), and a runner that stopped listening is
/// <see cref="RunnerUnavailableException"/>. For tests and single-process use.
/// </summary>
public sealed class InMemoryRunnerTransport : IRunnerTransport
{
    private readonly ConcurrentDictionary<RunnerAddress, IRunnerRpcHandler> _listeners = new();

    /// <inheritdoc />
    public async ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken)
    {
        using (envelope)
        {
            using var reply = await Resolve(runner).HandleRequestAsync(envelope.Memory, persisted, cancellationToken).ConfigureAwait(false);
            return PooledBytes.CopyOf(reply.Memory.Span);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in Resolve(runner).HandleStreamAsync(envelope.ToArray(), persisted, cancellationToken).ConfigureAwait(false))
        {
            yield return item.ToArray();
        }
    }

    /// <inheritdoc />
    public Task NotifyAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
        Resolve(runner).HandleNotifyAsync(envelope.ToArray(), cancellationToken);

    /// <inheritdoc />
    public Task SendEnvelopeAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
        Resolve(runner).HandleEnvelopeAsync(envelope.ToArray(), cancellationToken);

    /// <inheritdoc />
    public Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        Resolve(runner);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IAsyncDisposable> ListenAsync(RunnerAddress address, IRunnerRpcHandler handler, CancellationToken cancellationToken)
    {
        if (!_listeners.TryAdd(address, handler))
        {
            throw new InvalidOperationException($"Runner address {address} is already in use.");
        }

        return Task.FromResult<IAsyncDisposable>(new Listener(this, address, handler));
    }

    /// <inheritdoc />
    public void OnRunnerUnavailable(RunnerAddress runner)
    {
    }

    private IRunnerRpcHandler Resolve(RunnerAddress runner) =>
        _listeners.TryGetValue(runner, out var handler) ? handler : throw new RunnerUnavailableException(runner.ToString(), "not listening");

    private sealed class Listener(InMemoryRunnerTransport transport, RunnerAddress address, IRunnerRpcHandler handler) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            transport._listeners.TryRemove(new KeyValuePair<RunnerAddress, IRunnerRpcHandler>(address, handler));
            return ValueTask.CompletedTask;
        }
    }
}
