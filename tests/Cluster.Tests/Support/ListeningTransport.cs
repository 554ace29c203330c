using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>A socket transport that keeps the server it starts, so a test can look at the server's connections.</summary>
internal sealed class ListeningTransport(SocketRunnerTransport inner) : IRunnerTransport, IAsyncDisposable
{
    public RunnerSocketServer? Server { get; private set; }

    public async Task<IAsyncDisposable> ListenAsync(RunnerAddress address, IRunnerRpcHandler handler, CancellationToken cancellationToken)
    {
        var server = await inner.ListenAsync(address, handler, cancellationToken);
        Server = (RunnerSocketServer)server;
        return server;
    }

    public ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken) =>
        inner.RequestAsync(runner, envelope, persisted, cancellationToken);

    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken) =>
        inner.StreamAsync(runner, envelope, persisted, cancellationToken);

    public Task NotifyAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
        inner.NotifyAsync(runner, envelope, cancellationToken);

    public Task SendEnvelopeAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
        inner.SendEnvelopeAsync(runner, envelope, cancellationToken);

    public Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken) => inner.PingAsync(runner, cancellationToken);

    public void OnRunnerUnavailable(RunnerAddress runner) => inner.OnRunnerUnavailable(runner);

    public ValueTask InterruptSentAsync() => inner.InterruptSentAsync();

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
