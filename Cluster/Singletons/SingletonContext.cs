using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Singletons;

/// <summary>What a singleton job knows about where it runs.</summary>
public sealed class SingletonContext
{
    internal SingletonContext(string name, RunnerAddress runner, IServiceProvider services, Sharding sharding)
    {
        Name = name;
        Runner = runner;
        Services = services;
        Sharding = sharding;
    }

    /// <summary>The singleton's name.</summary>
    public string Name { get; }

    /// <summary>The runner it runs on.</summary>
    public RunnerAddress Runner { get; }

    /// <summary>Services of the hosting process.</summary>
    public IServiceProvider Services { get; }

    /// <summary>This runner's participant, for diagnostics (runners, owned shards); send with <see cref="Entities"/>.</summary>
    public Sharding Sharding { get; }

    /// <summary>The cluster, to send to entities.</summary>
    public IEntityClient Entities => Sharding;
}
