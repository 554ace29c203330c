using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>Orleans silos and an external client in one process (<see cref="OrleansHosts"/>).</summary>
public sealed class OrleansBenchCluster : IOrleansUnderTest
{
    private readonly List<IHost> _silos = [];
    private IHost? _client;

    public IClusterClient Client => _client!.Services.GetRequiredService<IClusterClient>();

    public static async Task<OrleansBenchCluster> StartAsync(int silos)
    {
        var cluster = new OrleansBenchCluster();
        var siloPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var gatewayPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var clusterId = $"bench-{Guid.NewGuid():N}";
        for (var i = 0; i < silos; i++)
        {
            var silo = OrleansHosts.Silo(clusterId, siloPorts[i], gatewayPorts[i], siloPorts[0]);
            await silo.StartAsync();
            cluster._silos.Add(silo);
        }

        cluster._client = OrleansHosts.Client(clusterId, gatewayPorts);
        await cluster._client.StartAsync();
        return cluster;
    }

    public ValueTask<long> AllocatedBytesAsync() => ValueTask.FromResult(GC.GetTotalAllocatedBytes(precise: false));

    public ValueTask<long> ManagedBytesAsync() => ValueTask.FromResult(ManagedMemory.AfterFullCollection());

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        foreach (var silo in Enumerable.Reverse(_silos))
        {
            await silo.StopAsync();
            silo.Dispose();
        }
    }
}
