using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>
/// One node of this runtime as the benchmark runs it, in any process: default settings, its own socket transport on
/// loopback TCP, runner and message storage in Redis-protocol storage (Garnet) under the cluster's name.
/// </summary>
public static class BenchSharding
{
    /// <summary>A runner serving on <paramref name="address"/>, or a client-only node when it is null; not started.</summary>
    public static (Sharding Node, SocketRunnerTransport Transport) Create(IConnectionMultiplexer redis, string clusterName, RunnerAddress? address)
    {
        var options = new ShardingOptions
        {
            Name = clusterName,
            RunnerAddress = address is { } a ? new EndpointOptions { Host = a.Host, Port = a.Port } : null,
        };
        var builder = new ClusterBuilder();
        BenchCounter.Register(builder);
        var transport = new SocketRunnerTransport(new RunnerSocketOptions(), NullLoggerFactory.Instance);
        var node = new Sharding(
            options,
            new RedisRunnerStorage(redis, clusterName, options.ShardLockExpiration),
            transport,
            builder.Entities,
            NullLoggerFactory.Instance,
            messageStorage: new RedisMessageStorage(redis, clusterName, options.MessageRetention));
        return (node, transport);
    }
}
