using Garnet;
using SocketRunnerAspire.Bench.Orleans;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Bench.SocketRunner;
using StackExchange.Redis;

namespace SocketRunnerAspire.Bench;

/// <summary>Every node of every system, the storage (Garnet) and the load generator in the benchmark's one process.</summary>
public sealed class InProcessDeployment : IBenchDeployment
{
    private GarnetServer? _garnet;
    private ConnectionMultiplexer? _redis;

    public string Mode => "in-process";

    public async Task<IRawEchoUnderTest> StartRawEchoAsync(int servers, int entities) => await RawEchoServers.StartAsync(servers, entities);

    public async Task<ISocketRunnerUnderTest> StartSocketRunnerAsync(int runners)
    {
        var port = FreePort.Next();
        _garnet = BenchGarnet.Start(port);
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=false");
        return await SocketRunnerBenchCluster.StartAsync(_redis, runners);
    }

    public async Task<IOrleansUnderTest> StartOrleansAsync(int silos) => await OrleansBenchCluster.StartAsync(silos);

    /// <summary>Nothing to wait for: each run's warm-up covers the one process.</summary>
    public Task SettleAsync() => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _garnet?.Dispose();
    }
}
