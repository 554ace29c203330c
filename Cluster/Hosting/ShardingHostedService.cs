using Microsoft.Extensions.Hosting;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Starts <see cref="Sharding"/> with the host and leaves the cluster gracefully on shutdown.</summary>
internal sealed class ShardingHostedService(Sharding sharding) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => sharding.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => sharding.StopAsync(cancellationToken);
}
