using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>Orleans silos and an external client in one process, with localhost (development) clustering on loopback.</summary>
public sealed class OrleansBenchCluster : IAsyncDisposable
{
    private readonly List<IHost> _silos = [];
    private IHost? _client;

    public IClusterClient Client => _client!.Services.GetRequiredService<IClusterClient>();

    public static async Task<OrleansBenchCluster> StartAsync(int silos)
    {
        var cluster = new OrleansBenchCluster();
        var siloPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var gatewayPorts = Enumerable.Range(0, silos).Select(_ => FreePort.Next()).ToArray();
        var primary = new IPEndPoint(IPAddress.Loopback, siloPorts[0]);
        var clusterId = $"bench-{Guid.NewGuid():N}";
        for (var i = 0; i < silos; i++)
        {
            var (siloPort, gatewayPort) = (siloPorts[i], gatewayPorts[i]);
            var silo = Host.CreateDefaultBuilder()
                .UseOrleans(builder => builder
                    .UseLocalhostClustering(siloPort, gatewayPort, primary, serviceId: "bench", clusterId: clusterId))
                .ConfigureLogging(logging => logging.ClearProviders())
                .Build();
            await silo.StartAsync();
            cluster._silos.Add(silo);
        }

        cluster._client = Host.CreateDefaultBuilder()
            .UseOrleansClient(builder => builder
                .UseLocalhostClustering(gatewayPorts, serviceId: "bench", clusterId: clusterId))
            .ConfigureLogging(logging => logging.ClearProviders())
            .Build();
        await cluster._client.StartAsync();
        return cluster;
    }

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
