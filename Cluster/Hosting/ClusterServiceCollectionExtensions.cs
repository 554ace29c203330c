using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Memory;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Registers the cluster in a host.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="Sharding"/> (started and stopped with the host), <see cref="ShardingOptions"/> bound
    /// from the <c>Cluster</c> section and validated at start, and the entity types from <paramref name="configure"/>.
    /// A runner when <c>Cluster:RunnerAddress</c> is set, client-only otherwise. Storage and transport default
    /// to the in-memory ones (one process); register <see cref="IRunnerStorage"/>, <see cref="IMessageStorage"/> and
    /// <see cref="IRunnerTransport"/> to replace them.
    /// </summary>
    public static IServiceCollection AddCluster(this IServiceCollection services, IConfiguration configuration, Action<ClusterBuilder>? configure = null)
    {
        var builder = new ClusterBuilder();
        configure?.Invoke(builder);

        services.AddOptions<ShardingOptions>().Bind(configuration.GetSection(ShardingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ShardingOptions>, ShardingOptionsValidator>());
        services.TryAddSingleton<IRunnerStorage>(sp => new InMemoryRunnerStorage(sp.GetRequiredService<IOptions<ShardingOptions>>().Value.ShardLockExpiration));
        services.TryAddSingleton<IRunnerTransport, InMemoryRunnerTransport>();
        services.TryAddSingleton<IMessageStorage, InMemoryMessageStorage>();
        services.AddSingleton(sp => new Sharding(
            sp.GetRequiredService<IOptions<ShardingOptions>>().Value,
            sp.GetRequiredService<IRunnerStorage>(),
            sp.GetRequiredService<IRunnerTransport>(),
            builder.Entities,
            sp.GetRequiredService<ILoggerFactory>(),
            sp,
            messageStorage: sp.GetRequiredService<IMessageStorage>(),
            singletons: builder.Singletons,
            crons: builder.Crons));
        services.AddSingleton<IEntityClient>(sp => sp.GetRequiredService<Sharding>());
        services.AddHostedService<ShardingHostedService>();
        return services;
    }
}
