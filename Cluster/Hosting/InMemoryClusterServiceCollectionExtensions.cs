using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Registers a cluster that lives in one process.</summary>
public static class InMemoryClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds the in-memory RunnerStorage, MessageStorage and transport (nodes of this process only: tests, a single
    /// node), then the cluster with <see cref="ClusterServiceCollectionExtensions.AddCluster"/>. A storage or transport
    /// registered before this call is kept.
    /// </summary>
    public static IServiceCollection AddInMemoryCluster(this IServiceCollection services, IConfiguration configuration, Action<ClusterBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IRunnerStorage>(sp => new InMemoryRunnerStorage(
            sp.GetRequiredService<IOptions<ShardingOptions>>().Value.ShardLockExpiration, sp.GetService<TimeProvider>()));
        services.TryAddSingleton<IMessageStorage, InMemoryMessageStorage>();
        services.TryAddSingleton<IRunnerTransport, InMemoryRunnerTransport>();
        return services.AddCluster(configuration, configure);
    }
}
