using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>The practical limit as deployed: each echo server in its own process (<see cref="EchoRole"/>), the client in the benchmark's process.</summary>
public sealed class RawEchoProcesses : IRawEchoUnderTest
{
    private ChildProcess[] _servers = [];
    private RawEchoClient? _client;

    public static async Task<RawEchoProcesses> StartAsync(int servers, int entities)
    {
        var system = new RawEchoProcesses();
        var addresses = Enumerable.Range(0, servers).Select(_ => new RunnerAddress("127.0.0.1", FreePort.Next())).ToArray();
        try
        {
            system._servers = await Task.WhenAll(addresses.Select((address, i) => ChildProcess.StartAsync($"echo {i + 1}", EchoRole.Name, EchoRole.Arguments(address.Port))));
            system._client = new RawEchoClient(addresses, entities);
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    public ValueTask<int> IncrementAsync(int entity, Increment increment) => _client!.IncrementAsync(entity, increment);

    public ValueTask<long> AllocatedBytesAsync() => ChildProcess.AllocatedBytesWithAsync(_servers);

    public ValueTask<long> ManagedBytesAsync() => ChildProcess.ManagedBytesWithAsync(_servers);

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        await Task.WhenAll(_servers.Select(s => s.DisposeAsync().AsTask()));
    }
}
