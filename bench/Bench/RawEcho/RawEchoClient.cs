using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Bench.RawEcho;

/// <summary>
/// The sending side of the practical limit: the same socket transport, frames, envelope and MessagePack serializer as
/// the runtime, calling echo servers (<see cref="RawEchoServer"/>) with entity addresses made once up front, as the
/// runtime's entity refs are.
/// </summary>
public sealed class RawEchoClient(IReadOnlyList<RunnerAddress> servers, int entities) : IAsyncDisposable
{
    private static readonly ClusterSerializer Serializer = ClusterSerializer.Default;
    private readonly SocketRunnerTransport _transport = new(new RunnerSocketOptions(), NullLoggerFactory.Instance);
    private readonly RunnerAddress[] _servers = [.. servers];
    private readonly EntityAddress[] _entities = Enumerable.Range(0, entities)
        .Select(i => new EntityAddress("BenchCounter", i.ToString(CultureInfo.InvariantCulture), new ShardId(ShardId.DefaultGroup, 1)))
        .ToArray();
    private long _requestId;

    /// <summary>What a sender does per request: serialize the message, wrap it in an envelope, send, read the reply.</summary>
    public async ValueTask<int> IncrementAsync(int entity, Increment increment)
    {
        var envelope = EnvelopeCodec.EncodePooled(Serializer, Interlocked.Increment(ref _requestId), _entities[entity], nameof(Increment), RpcKind.Request, increment, null, null);
        using var reply = await _transport.RequestAsync(_servers[entity % _servers.Length], envelope, persisted: false, CancellationToken.None);
        return Serializer.Deserialize<int>(reply.Memory);
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();
}
