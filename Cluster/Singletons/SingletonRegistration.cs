using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Singletons;

/// <summary>
/// A named job that runs once cluster-wide (Effect's <c>Singleton.make</c>, Akka.NET's ClusterSingleton): on the
/// runner that holds the lease of the shard its name hashes to. Register with <see cref="ClusterBuilder.AddSingletonJob"/>.
/// </summary>
public sealed class SingletonRegistration
{
    internal SingletonRegistration(string name, Func<SingletonContext, CancellationToken, Task> run, string shardGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Run = run;
        ShardGroup = shardGroup;
    }

    /// <summary>The singleton's name, unique in the cluster; it picks the shard.</summary>
    public string Name { get; }

    /// <summary>The shard group whose runners may host it.</summary>
    public string ShardGroup { get; }

    /// <summary>
    /// The job: runs until its token is cancelled (the shard moved or the runner stops). If it throws it is
    /// restarted after a back-off; if it returns it is done until its shard next changes owner.
    /// </summary>
    internal Func<SingletonContext, CancellationToken, Task> Run { get; }
}
