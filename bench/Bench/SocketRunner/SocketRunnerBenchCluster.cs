using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>
/// Runners and one client-only node of this runtime in one process, each with its own socket transport on
/// loopback TCP, coordinating through Redis-protocol storage (Garnet), with the default settings.
/// </summary>
public sealed class SocketRunnerBenchCluster : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _name = $"bench-{Guid.NewGuid():N}";
    private readonly List<(Sharding Node, SocketRunnerTransport Transport)> _runners = [];
    private readonly List<(Sharding Node, SocketRunnerTransport Transport)> _stopped = [];
    private (Sharding Node, SocketRunnerTransport Transport) _client;

    private SocketRunnerBenchCluster(IConnectionMultiplexer redis) => _redis = redis;

    public Sharding Client => _client.Node;

    public IReadOnlyList<Sharding> Runners => _runners.Select(r => r.Node).ToArray();

    public static async Task<SocketRunnerBenchCluster> StartAsync(IConnectionMultiplexer redis, int runners)
    {
        var cluster = new SocketRunnerBenchCluster(redis);
        for (var i = 0; i < runners; i++)
        {
            await cluster.AddRunnerAsync();
        }

        cluster._client = cluster.Create(address: null);
        await cluster._client.Node.StartAsync();
        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(120));
        return cluster;
    }

    public async Task<Sharding> AddRunnerAsync()
    {
        var runner = Create(new RunnerAddress("127.0.0.1", FreePort.Next()));
        _runners.Add(runner);
        await runner.Node.StartAsync();
        return runner.Node;
    }

    /// <summary>Leaves gracefully: stops entities, releases leases, unregisters.</summary>
    public async Task StopRunnerAsync(Sharding runner)
    {
        var entry = _runners.Single(r => r.Node == runner);
        _runners.Remove(entry);
        _stopped.Add(entry);
        await runner.StopAsync();
    }

    /// <summary>Waits until every runner holds the shards assigned to it and the client routes every shard; returns how long that took.</summary>
    public async Task<TimeSpan> WaitUntilStableAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (!IsStable())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"The cluster did not settle within {timeout}.");
            }

            await Task.Delay(10);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    private bool IsStable()
    {
        var runners = Runners;
        var addresses = runners.Select(r => r.Address!.Value).ToHashSet();
        var assigned = Client.AssignedShardCounts();
        return runners.All(r => r.HoldsAssignedShards)
            && runners.Sum(r => r.OwnedShards.Count) == new ShardingOptions().ShardsPerGroup
            && assigned.Count == runners.Count
            && assigned.Keys.All(addresses.Contains)
            && runners.All(r => r.AssignedShardCounts().Keys.All(addresses.Contains));
    }

    private (Sharding Node, SocketRunnerTransport Transport) Create(RunnerAddress? address)
    {
        var options = new ShardingOptions
        {
            Name = _name,
            RunnerAddress = address is { } a ? new EndpointOptions { Host = a.Host, Port = a.Port } : null,
        };
        var builder = new ClusterBuilder();
        BenchCounter.Register(builder);
        var transport = new SocketRunnerTransport(new RunnerSocketOptions(), NullLoggerFactory.Instance);
        var node = new Sharding(
            options,
            new RedisRunnerStorage(_redis, _name, options.ShardLockExpiration),
            transport,
            builder.Entities,
            NullLoggerFactory.Instance,
            messageStorage: new RedisMessageStorage(_redis, _name, options.MessageRetention));
        return (node, transport);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (node, transport) in _runners.Concat(_stopped).Append(_client).Where(r => r.Node is not null))
        {
            await node.DisposeAsync();
            await transport.DisposeAsync();
        }
    }
}
