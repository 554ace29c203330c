using SocketRunnerAspire.AppHost.Storage;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.AppHost.Cluster;

/// <summary>Adds a SocketRunner cluster and lets projects join it as runners or clients.</summary>
public static class SocketRunnerClusterExtensions
{
    /// <summary>Name of each runner's TCP endpoint that serves the runner RPC protocol.</summary>
    public const string RunnerEndpointName = "runner";

    /// <summary>Environment variable that carries the cluster secret to runners and clients.</summary>
    public static readonly string ClusterSecretVariable = ClusterConfigurationKeys.ToEnvironmentVariable(ClusterConfigurationKeys.ClusterSecret);

    private static readonly string NameVariable = ClusterConfigurationKeys.ToEnvironmentVariable(ClusterConfigurationKeys.Name);
    private static readonly string RunnerHostVariable = ClusterConfigurationKeys.ToEnvironmentVariable(ClusterConfigurationKeys.RunnerAddressHost);
    private static readonly string RunnerPortVariable = ClusterConfigurationKeys.ToEnvironmentVariable(ClusterConfigurationKeys.RunnerAddressPort);

    /// <summary>
    /// Adds a cluster named <paramref name="name"/> whose runners coordinate through <paramref name="storage"/>, with a
    /// generated cluster secret (parameter <c>{name}-secret</c>) so that only its own runners and clients can send RPCs.
    /// </summary>
    public static SocketRunnerCluster AddSocketRunnerCluster(this IDistributedApplicationBuilder builder, string name, ClusterStorage storage)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var secret = builder.AddParameter($"{name}-secret", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);
        return new SocketRunnerCluster(name, storage, secret);
    }

    /// <summary>
    /// Makes <paramref name="project"/> a runner of <paramref name="cluster"/>: a <c>runner</c> TCP endpoint
    /// (its port and advertised host passed as <c>Cluster__RunnerAddress__*</c>, see <see cref="ClusterConfigurationKeys"/>), the storage connection,
    /// start after storage is healthy, and an HTTP health check on <c>/health</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference(this IResourceBuilder<ProjectResource> project, SocketRunnerCluster cluster)
    {
        cluster.AddRunner(project);
        return project
            .WithEndpoint(name: RunnerEndpointName, scheme: "tcp", env: RunnerPortVariable)
            .WithEnvironment(RunnerHostVariable, "localhost")
            .WithEnvironment(NameVariable, cluster.Name)
            .WithEnvironment(ClusterSecretVariable, cluster.Secret)
            .WithClusterStorage(cluster.Storage)
            .WithHttpHealthCheck("/health");
    }

    /// <summary>
    /// Makes <paramref name="project"/> a client-only participant of the cluster: the cluster's name and secret, the
    /// storage connection, and start after storage is healthy. It finds the runners in storage, not through service
    /// discovery.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference(this IResourceBuilder<ProjectResource> project, SocketRunnerClusterClient client)
    {
        var cluster = client.Cluster;
        return project
            .WithEnvironment(NameVariable, cluster.Name)
            .WithEnvironment(ClusterSecretVariable, cluster.Secret)
            .WithClusterStorage(cluster.Storage);
    }
}
