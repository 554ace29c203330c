using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Bench.RawEcho;

/// <summary>The practical limit in one process: echo servers (<see cref="RawEchoServer"/>) and their client side by side.</summary>
public sealed class RawEchoServers : IRawEchoUnderTest
{
    private readonly List<RawEchoServer> _servers = [];
    private RawEchoClient? _client;

    /// <summary>Starts <paramref name="servers"/> echo servers for <paramref name="entities"/> entity ids.</summary>
    public static async Task<RawEchoServers> StartAsync(int servers, int entities)
    {
        var echo = new RawEchoServers();
        for (var i = 0; i < servers; i++)
        {
            echo._servers.Add(await RawEchoServer.StartAsync(new RunnerAddress("127.0.0.1", FreePort.Next())));
        }

        echo._client = new RawEchoClient(echo._servers.Select(s => s.Address).ToArray(), entities);
        return echo;
    }

    public ValueTask<int> IncrementAsync(int entity, Increment increment) => _client!.IncrementAsync(entity, increment);

    public ValueTask<long> AllocatedBytesAsync() => ValueTask.FromResult(GC.GetTotalAllocatedBytes(precise: false));

    public ValueTask<long> ManagedBytesAsync() => ValueTask.FromResult(ManagedMemory.AfterFullCollection());

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }
}
