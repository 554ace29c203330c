using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.AppHost.Storage;

/// <summary>Adds the cluster's storage: a Redis container, Garnet, an external Redis or an external PostgreSQL server.</summary>
public static class ClusterStorageExtensions
{
    /// <summary>Configuration key that selects the <see cref="StorageMode"/>.</summary>
    public const string ModeKey = "Storage:Mode";

    /// <summary>The environment variable that tells a node which storage its connection string is (<c>Cluster__Storage</c>).</summary>
    public static readonly string StorageKindVariable = ClusterConfigurationKeys.ToEnvironmentVariable(ClusterConfigurationKeys.Storage);

    /// <summary>Name of the Garnet server resource (Garnet mode).</summary>
    public const string GarnetResourceName = "garnet";

    /// <summary>
    /// Adds storage named <paramref name="name"/>. <see cref="StorageMode.Auto"/> (the default) uses the
    /// Redis container when a container runtime is healthy and Garnet otherwise.
    /// </summary>
    public static ClusterStorage AddClusterStorage(this IDistributedApplicationBuilder builder, string name)
    {
        var configured = builder.Configuration[ModeKey];
        var mode = StorageMode.Auto;
        if (!string.IsNullOrWhiteSpace(configured) && !Enum.TryParse(configured, ignoreCase: true, out mode))
        {
            throw new InvalidOperationException(
                $"{ModeKey} must be one of {string.Join(", ", Enum.GetNames<StorageMode>())} (was '{configured}').");
        }

        if (mode == StorageMode.Auto)
        {
            var runtime = ContainerRuntimeProbe.Find(builder.Configuration);
            mode = runtime is null ? StorageMode.Garnet : StorageMode.Container;
            LogAtStart(builder, logger =>
            {
                if (runtime is null)
                {
                    logger.LogInformation("Cluster storage: no healthy container runtime found, using Garnet (set {ModeKey} to override).", ModeKey);
                }
                else
                {
                    logger.LogInformation("Cluster storage: container runtime '{Runtime}' is healthy, using the Redis container.", runtime);
                }
            });
        }

        if (mode is StorageMode.External or StorageMode.Postgres)
        {
            if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name)))
            {
                throw new InvalidOperationException(
                    $"{ModeKey}={mode} needs the connection string ConnectionStrings:{name} (user secrets, environment or command line).");
            }

            LogAtStart(builder, logger => logger.LogInformation("Cluster storage: the external {Kind} server in ConnectionStrings:{Name}.",
                mode == StorageMode.Postgres ? "PostgreSQL" : "Redis", name));
            return new ClusterStorage(mode, builder.AddConnectionString(name), Server: null);
        }

        if (mode == StorageMode.Container)
        {
            var redis = builder.AddRedis(name);
            return new ClusterStorage(mode, redis, redis);
        }

        var garnet = builder.AddProject<Projects.GarnetHost>(GarnetResourceName)
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "Garnet__Port");
        var endpoint = garnet.GetEndpoint("tcp");

        var healthCheckKey = $"{GarnetResourceName}_resp_ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new RespPingHealthCheck(endpoint), failureStatus: null, tags: null));
        garnet.WithHealthCheck(healthCheckKey);

        var connection = builder.AddConnectionString(
            name, ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.HostAndPort)}"));
        return new ClusterStorage(mode, connection, garnet);
    }

    /// <summary>Writes to the AppHost's log once the app starts (the model is built before there is a logger).</summary>
    private static void LogAtStart(IDistributedApplicationBuilder builder, Action<ILogger> log) =>
        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            log(@event.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClusterStorageExtensions).FullName!));
            return Task.CompletedTask;
        });

    /// <summary>
    /// Gives <paramref name="project"/> the storage connection string (and, for PostgreSQL, <c>Cluster:Storage=Postgres</c>)
    /// and starts it once storage is healthy.
    /// </summary>
    public static IResourceBuilder<T> WithClusterStorage<T>(this IResourceBuilder<T> project, ClusterStorage storage)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        project.WithReference(storage.Connection);
        if (storage.Mode == StorageMode.Postgres)
        {
            project.WithEnvironment(StorageKindVariable, ClusterConfigurationKeys.PostgresStorage);
        }

        return storage.Server is null ? project : project.WaitFor(storage.Server);
    }
}
