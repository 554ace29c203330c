using SocketRunnerAspire.AppHost.Storage;

namespace SocketRunnerAspire.AppHost.Cluster;

/// <summary>Adds a SocketRunner cluster and lets projects join it as runners or clients.</summary>
public static class SocketRunnerClusterExtensions
{
    /// <summary>Name of each runner's TCP endpoint that serves the runner RPC protocol.</summary>
    public const string RunnerEndpointName = "runner";

    /// <summary>Environment variable that carries the cluster secret to runners and clients.</summary>
    public const string ClusterSecretVariable = "Cluster__Socket__ClusterSecret";

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
    /// (its port and advertised host passed as <c>Cluster__RunnerAddress__*</c>), the storage connection,
    /// start after storage is healthy, and an HTTP health check on <c>/health</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference(this IResourceBuilder<ProjectResource> project, SocketRunnerCluster cluster)
    {
        cluster.AddRunner(project);
        return project
            .WithEndpoint(name: RunnerEndpointName, scheme: "tcp", env: "Cluster__RunnerAddress__Port")
            .WithEnvironment("Cluster__RunnerAddress__Host", "localhost")
            .WithEnvironment("Cluster__Name", cluster.Name)
            .WithEnvironment(ClusterSecretVariable, cluster.Secret)
            .WithClusterStorage(cluster.Storage)
            .WithHttpHealthCheck("/health");
    }

    /// <summary>
    /// Makes <paramref name="project"/> a client-only participant of the cluster: the storage connection,
    /// start after storage is healthy, and every runner's <c>runner</c> endpoint through service discovery
    /// (<c>services__runner-N__runner__0</c>), including runners added after this call.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference(this IResourceBuilder<ProjectResource> project, SocketRunnerClusterClient client)
    {
        var cluster = client.Cluster;
        return project
            .WithEnvironment("Cluster__Name", cluster.Name)
            .WithEnvironment(ClusterSecretVariable, cluster.Secret)
            .WithClusterStorage(cluster.Storage)
            .WithEnvironment(context =>
            {
                foreach (var runner in cluster.Runners)
                {
                    context.EnvironmentVariables[$"services__{runner.Resource.Name}__{RunnerEndpointName}__0"] =
                        runner.GetEndpoint(RunnerEndpointName);
                }
            });
    }
}
