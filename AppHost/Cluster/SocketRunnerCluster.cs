using SocketRunnerAspire.AppHost.Storage;

namespace SocketRunnerAspire.AppHost.Cluster;

/// <summary>
/// A SocketRunner cluster in the app model, in the shape of Aspire.Hosting.Orleans: projects join it
/// as runners (<c>runner.WithReference(cluster)</c>) or as client-only participants
/// (<c>app.WithReference(cluster.AsClient())</c>). Created by <see cref="SocketRunnerClusterExtensions.AddSocketRunnerCluster"/>.
/// </summary>
public sealed class SocketRunnerCluster(string name, ClusterStorage storage, IResourceBuilder<ParameterResource> secret)
{
    private readonly List<IResourceBuilder<ProjectResource>> _runners = [];

    /// <summary>The cluster's name; runners and clients of one cluster share it (<c>Cluster__Name</c>).</summary>
    public string Name { get; } = name;

    /// <summary>The Redis-protocol storage that holds the runner registry, shard leases and persisted messages.</summary>
    public ClusterStorage Storage { get; } = storage;

    /// <summary>
    /// The cluster secret every runner and client proves on each runner connection (<c>Cluster__Socket__ClusterSecret</c>):
    /// generated per run unless the <c>Parameters:{name}-secret</c> configuration sets it.
    /// </summary>
    public IResourceBuilder<ParameterResource> Secret { get; } = secret;

    /// <summary>The runners added so far.</summary>
    public IReadOnlyList<IResourceBuilder<ProjectResource>> Runners => _runners;

    /// <summary>A handle for projects that join as client-only participants.</summary>
    public SocketRunnerClusterClient AsClient() => new(this);

    internal void AddRunner(IResourceBuilder<ProjectResource> runner) => _runners.Add(runner);
}

/// <summary>The client-only view of a <see cref="SocketRunnerCluster"/>.</summary>
public sealed class SocketRunnerClusterClient(SocketRunnerCluster cluster)
{
    /// <summary>The cluster this client joins.</summary>
    public SocketRunnerCluster Cluster { get; } = cluster;
}
