using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>A silo and an external client as the benchmark runs them, in any process: localhost (development) clustering on loopback.</summary>
public static class OrleansHosts
{
    private const string ServiceId = "bench";

    /// <summary>A silo of <paramref name="clusterId"/>; <paramref name="primarySiloPort"/> is the silo the others join through.</summary>
    public static IHost Silo(string clusterId, int siloPort, int gatewayPort, int primarySiloPort) =>
        Host.CreateDefaultBuilder()
            .UseOrleans(builder => builder
                .UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, primarySiloPort), serviceId: ServiceId, clusterId: clusterId))
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, ProcessOwnedLifetime>())
            .Build();

    /// <summary>An external client connecting through the silos' gateways.</summary>
    public static IHost Client(string clusterId, IReadOnlyList<int> gatewayPorts) =>
        Host.CreateDefaultBuilder()
            .UseOrleansClient(builder => builder
                .UseLocalhostClustering([.. gatewayPorts], serviceId: ServiceId, clusterId: clusterId))
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, ProcessOwnedLifetime>())
            .Build();
}
