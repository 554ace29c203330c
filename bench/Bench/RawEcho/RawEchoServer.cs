using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Bench.RawEcho;

/// <summary>
/// One echo server: the runtime's socket transport listening on <see cref="Address"/>, answering every request
/// straight from the frame handler: no sharding, no entity, no mailbox.
/// </summary>
public sealed class RawEchoServer : IAsyncDisposable
{
    private readonly SocketRunnerTransport _transport = new(new RunnerSocketOptions(), NullLoggerFactory.Instance);
    private IAsyncDisposable? _listener;

    private RawEchoServer(RunnerAddress address) => Address = address;

    public RunnerAddress Address { get; }

    public static async Task<RawEchoServer> StartAsync(RunnerAddress address)
    {
        var server = new RawEchoServer(address);
        server._listener = await server._transport.ListenAsync(address, new CounterHandler(), CancellationToken.None);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        await _transport.DisposeAsync();
    }

    private sealed class CounterHandler : IRunnerRpcHandler
    {
        private int _value;

        public ValueTask<PooledBytes> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
        {
            var request = ClusterSerializer.Default.Deserialize<Increment>(EnvelopeCodec.Decode(envelope).Payload);
            return ValueTask.FromResult(PooledBytes.CopyOf(ClusterSerializer.Default.Serialize(Interlocked.Add(ref _value, request.By))));
        }

        public IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
