using System.Diagnostics;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>
/// Runners and one client-only node of this runtime in one process (<see cref="BenchSharding"/> nodes), coordinating
/// through Redis-protocol storage (Garnet).
/// </summary>
public sealed class SocketRunnerBenchCluster : ISocketRunnerUnderTest
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _name = $"bench-{Guid.NewGuid():N}";
    private readonly List<(Sharding Node, SocketRunnerTransport Transport)> _runners = [];
    private readonly List<(Sharding Node, SocketRunnerTransport Transport)> _stopped = [];
    private (Sharding Node, SocketRunnerTransport Transport) _client;
    private Sharding? _added;

    private SocketRunnerBenchCluster(IConnectionMultiplexer redis) => _redis = redis;

    public Sharding Client => _client.Node;

    public static async Task<SocketRunnerBenchCluster> StartAsync(IConnectionMultiplexer redis, int runners)
    {
        var cluster = new SocketRunnerBenchCluster(redis);
        for (var i = 0; i < runners; i++)
        {
            await cluster.StartRunnerAsync();
        }

        cluster._client = BenchSharding.Create(redis, cluster._name, address: null);
        await cluster._client.Node.StartAsync();
        await cluster.WaitUntilStableAsync(TimeSpan.FromSeconds(120));
        return cluster;
    }

    public async Task AddRunnerAsync() => _added = await StartRunnerAsync();

    public async Task StopAddedRunnerAsync()
    {
        var entry = _runners.Single(r => r.Node == _added);
        _runners.Remove(entry);
        _stopped.Add(entry);
        await entry.Node.StopAsync();
    }

    public async Task WaitUntilStableAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (!RunnerShardState.AreSettled(_runners.Select(r => RunnerShardState.Of(r.Node)).ToArray(), Client.AssignedShardCounts()))
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"The cluster did not settle within {timeout}.");
            }

            await Task.Delay(10);
        }
    }

    public ValueTask<long> AllocatedBytesAsync() => ValueTask.FromResult(GC.GetTotalAllocatedBytes(precise: false));

    public ValueTask<long> ManagedBytesAsync() => ValueTask.FromResult(ManagedMemory.AfterFullCollection());

    private async Task<Sharding> StartRunnerAsync()
    {
        var runner = BenchSharding.Create(_redis, _name, new RunnerAddress("127.0.0.1", FreePort.Next()));
        _runners.Add(runner);
        await runner.Node.StartAsync();
        return runner.Node;
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
