using System.Diagnostics;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>
/// This runtime as deployed: Garnet and each runner in its own process (<see cref="GarnetRole"/>, <see cref="RunnerRole"/>),
/// the client-only node in the benchmark's process.
/// </summary>
public sealed class SocketRunnerProcesses : ISocketRunnerUnderTest
{
    private readonly string _name = $"bench-{Guid.NewGuid():N}";
    private readonly int _garnetPort = FreePort.Next();
    private readonly List<(ChildProcess Process, RunnerAddress Address)> _runners = [];
    private ChildProcess? _garnet;
    private ConnectionMultiplexer? _redis;
    private (Sharding Node, SocketRunnerTransport Transport)? _client;
    private ChildProcess? _added;
    private int _started;

    public Sharding Client => _client!.Value.Node;

    private IEnumerable<ChildProcess> Children => _runners.Select(r => r.Process).Append(_garnet).OfType<ChildProcess>();

    public static async Task<SocketRunnerProcesses> StartAsync(int runners)
    {
        var system = new SocketRunnerProcesses();
        try
        {
            system._garnet = await ChildProcess.StartAsync("garnet", GarnetRole.Name, GarnetRole.Arguments(system._garnetPort));
            system._redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{system._garnetPort},abortConnect=false");
            var started = await Task.WhenAll(Enumerable.Range(0, runners).Select(_ => system.StartRunnerAsync()));
            system._runners.AddRange(started);
            system._client = BenchSharding.Create(system._redis, system._name, address: null);
            await system.Client.StartAsync();
            await system.WaitUntilStableAsync(TimeSpan.FromSeconds(120));
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    public async Task AddRunnerAsync()
    {
        var runner = await StartRunnerAsync();
        _runners.Add(runner);
        _added = runner.Process;
    }

    public async Task StopAddedRunnerAsync()
    {
        var runner = _runners.Single(r => r.Process == _added);
        _runners.Remove(runner);
        await runner.Process.StopAsync();
        await runner.Process.DisposeAsync();
    }

    public async Task WaitUntilStableAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var states = await Task.WhenAll(_runners.Select(async r => RunnerShardState.Parse(await r.Process.AskAsync(RunnerRole.ShardsCommand))));
            if (RunnerShardState.AreSettled(states, Client.AssignedShardCounts()))
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"The cluster did not settle within {timeout}: {string.Join("; ", states.Select(s => s.ToLine()))}.");
            }

            await Task.Delay(20);
        }
    }

    public ValueTask<long> AllocatedBytesAsync() => ChildProcess.AllocatedBytesWithAsync(Children);

    public ValueTask<long> ManagedBytesAsync() => ChildProcess.ManagedBytesWithAsync(Children);

    private async Task<(ChildProcess Process, RunnerAddress Address)> StartRunnerAsync()
    {
        var address = new RunnerAddress("127.0.0.1", FreePort.Next());
        var process = await ChildProcess.StartAsync($"runner {Interlocked.Increment(ref _started)}", RunnerRole.Name,
            RunnerRole.Arguments(_garnetPort, address.Port, _name));
        return (process, address);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            await client.Node.DisposeAsync();
            await client.Transport.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        await Task.WhenAll(Children.Select(c => c.DisposeAsync().AsTask()));
    }
}
