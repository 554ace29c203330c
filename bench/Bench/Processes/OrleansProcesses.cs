using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Bench.Orleans;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>Orleans as deployed: each silo in its own process (<see cref="SiloRole"/>), the external client in the benchmark's process.</summary>
public sealed class OrleansProcesses : IOrleansUnderTest
{
    private readonly List<ChildProcess> _silos = [];
    private IHost? _client;

    public IClusterClient Client => _client!.Services.GetRequiredService<IClusterClient>();

    public static async Task<OrleansProcesses> StartAsync(int silos)
    {
        var system = new OrleansProcesses();
        var siloPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var gatewayPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var clusterId = $"bench-{Guid.NewGuid():N}";
        Task<ChildProcess> StartSiloAsync(int i) =>
            ChildProcess.StartAsync($"silo {i + 1}", SiloRole.Name, SiloRole.Arguments(clusterId, siloPorts[i], gatewayPorts[i], siloPorts[0]));
        try
        {
            // The others join through the primary silo, so it is up first.
            system._silos.Add(await StartSiloAsync(0));
            system._silos.AddRange(await Task.WhenAll(Enumerable.Range(1, silos - 1).Select(StartSiloAsync)));
            system._client = OrleansHosts.Client(clusterId, gatewayPorts);
            await system._client.StartAsync();
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    public ValueTask<long> AllocatedBytesAsync() => ChildProcess.AllocatedBytesWithAsync(_silos);

    public ValueTask<long> ManagedBytesAsync() => ChildProcess.ManagedBytesWithAsync(_silos);

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        await Task.WhenAll(_silos.Select(s => s.DisposeAsync().AsTask()));
    }
}
