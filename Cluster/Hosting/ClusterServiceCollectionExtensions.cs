using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Workflows;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>Registers the cluster in a host.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="Sharding"/> (started and stopped with the host, and injectable as <see cref="IEntityClient"/>),
    /// <see cref="ShardingOptions"/> bound from the <c>Cluster</c> section and validated at start, and the entity types,
    /// singleton jobs and cron schedules from <paramref name="configure"/>. A runner when <c>Cluster:RunnerAddress</c> is
    /// set, client-only otherwise.
    /// </summary>
    /// <remarks>
    /// Storage and transport are not chosen here: register <see cref="IRunnerStorage"/> and <see cref="IRunnerTransport"/>
    /// (and optionally <see cref="IMessageStorage"/>, needed by persisted messages and cron), or call
    /// <see cref="InMemoryClusterServiceCollectionExtensions.AddInMemoryCluster"/> (one process) or
    /// <c>AddClusterRunner</c>/<c>AddClusterClient</c> (Redis storage, socket transport) instead; the host fails to start
    /// with a message naming them when either is missing. Calling this again adds to the same cluster (its entities,
    /// singleton jobs and crons; the same name twice still throws) and binds the options only once.
    /// </remarks>
    public static IServiceCollection AddCluster(this IServiceCollection services, IConfiguration configuration, Action<ClusterBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.FirstOrDefault(d => d.ServiceType == typeof(ClusterRegistration))?.ImplementationInstance is ClusterRegistration registered)
        {
            configure?.Invoke(registered.Builder);
            return services;
        }

        var builder = new ClusterBuilder();
        configure?.Invoke(builder);
        services.AddSingleton(new ClusterRegistration(builder));

        services.AddOptions<ShardingOptions>().Bind(configuration.GetSection(ShardingOptions.SectionName))
            // Binding appends configured list items to the defaults ("default" + ["default", "workflow"]).
            .PostConfigure(options =>
            {
                options.AvailableShardGroups = [.. options.AvailableShardGroups.Distinct(StringComparer.Ordinal)];
                options.AssignedShardGroups = [.. options.AssignedShardGroups.Distinct(StringComparer.Ordinal)];
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ShardingOptions>, ShardingOptionsValidator>());
        services.AddSingleton(sp => new Sharding(
            sp.GetRequiredService<IOptions<ShardingOptions>>().Value,
            sp.GetService<IRunnerStorage>() ?? throw Missing(nameof(IRunnerStorage)),
            sp.GetService<IRunnerTransport>() ?? throw Missing(nameof(IRunnerTransport)),
            builder.Entities,
            sp.GetRequiredService<ILoggerFactory>(),
            sp,
            messageStorage: sp.GetService<IMessageStorage>(),
            singletons: builder.Singletons,
            crons: builder.Crons,
            timeProvider: sp.GetService<TimeProvider>(),
            runnerHealth: sp.GetService<IRunnerHealth>(),
            workflows: builder.Workflows));
        services.AddSingleton<IWorkflowClient>(sp => sp.GetRequiredService<Sharding>().Workflows);
        // The same instance: the container disposes it once per registration, and Sharding.DisposeAsync is idempotent.
        services.AddSingleton<IEntityClient>(sp => sp.GetRequiredService<Sharding>());
        services.AddHostedService<ShardingHostedService>();
        return services;
    }

    private static InvalidOperationException Missing(string service) => new(
        $"The cluster has no {service}: AddCluster does not choose storage or a transport. Call services.AddInMemoryCluster(configuration, ...) " +
        "for one process (tests, a single node), builder.AddClusterRunner(connectionName, ...) or builder.AddClusterClient(connectionName) for " +
        "Redis storage and the socket transport, or register IRunnerStorage and IRunnerTransport (and optionally IMessageStorage) yourself.");

    /// <summary>The one <see cref="ClusterBuilder"/> of a service collection, so that a second AddCluster adds to it.</summary>
    private sealed record ClusterRegistration(ClusterBuilder Builder);
}
