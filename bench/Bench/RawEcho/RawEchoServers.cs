using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Bench.RawEcho;

/// <summary>
/// The practical limit: the same socket transport, frames, envelope and MessagePack serializer as the runtime,
/// but the server answers straight from the frame handler: no sharding, no entity, no mailbox.
/// </summary>
public sealed class RawEchoServers : IAsyncDisposable
{
    private static readonly ClusterSerializer Serializer = ClusterSerializer.Default;
    private readonly SocketRunnerTransport _client = new(new RunnerSocketOptions(), NullLoggerFactory.Instance);
    private readonly List<(SocketRunnerTransport Transport, IAsyncDisposable Listener)> _servers = [];
    private RunnerAddress[] _addresses = [];
    private EntityAddress[] _entities = [];
    private long _requestId;

    /// <summary>Starts <paramref name="servers"/> echo servers for <paramref name="entities"/> entity ids, addressed once up front as the runtime's entity refs are.</summary>
    public static async Task<RawEchoServers> StartAsync(int servers, int entities)
    {
        var echo = new RawEchoServers
        {
            _entities = Enumerable.Range(0, entities)
                .Select(i => new EntityAddress("BenchCounter", i.ToString(System.Globalization.CultureInfo.InvariantCulture), new ShardId(ShardId.DefaultGroup, 1)))
                .ToArray(),
        };
        var addresses = new List<RunnerAddress>();
        for (var i = 0; i < servers; i++)
        {
            var transport = new SocketRunnerTransport(new RunnerSocketOptions(), NullLoggerFactory.Instance);
            var address = new RunnerAddress("127.0.0.1", FreePort.Next());
            echo._servers.Add((transport, await transport.ListenAsync(address, new CounterHandler(), CancellationToken.None)));
            addresses.Add(address);
        }

        echo._addresses = [.. addresses];
        return echo;
    }

    /// <summary>What a sender does per request: serialize the message, wrap it in an envelope, send, read the reply.</summary>
    public async Task<int> IncrementAsync(int entity, Increment increment)
    {
        var envelope = EnvelopeCodec.EncodePooled(Serializer, Interlocked.Increment(ref _requestId), _entities[entity], nameof(Increment), RpcKind.Request, increment, null, null);
        using var reply = await _client.RequestAsync(_addresses[entity % _addresses.Length], envelope, persisted: false, CancellationToken.None);
        return Serializer.Deserialize<int>(reply.Memory);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        foreach (var (transport, listener) in _servers)
        {
            await listener.DisposeAsync();
            await transport.DisposeAsync();
        }
    }

    private sealed class CounterHandler : IRunnerRpcHandler
    {
        private int _value;

        public ValueTask<PooledBytes> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
        {
            var request = Serializer.Deserialize<Increment>(EnvelopeCodec.Decode(envelope).Payload);
            return ValueTask.FromResult(PooledBytes.CopyOf(Serializer.Serialize(Interlocked.Add(ref _value, request.By))));
        }

        public IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
