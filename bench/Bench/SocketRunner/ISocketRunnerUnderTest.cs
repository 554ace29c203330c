using SocketRunnerAspire.Cluster;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>This runtime's runners, in this process or in their own, and the client-only node calling them.</summary>
public interface ISocketRunnerUnderTest : ISystemUnderTest
{
    Sharding Client { get; }

    /// <summary>Waits until every runner holds the shards assigned to it and the client routes every shard.</summary>
    Task WaitUntilStableAsync(TimeSpan timeout);

    /// <summary>Starts one more runner (it joins; the cluster is not stable again until shards have moved to it).</summary>
    Task AddRunnerAsync();

    /// <summary>Stops the runner <see cref="AddRunnerAsync"/> started, gracefully: stops entities, releases leases, unregisters.</summary>
    Task StopAddedRunnerAsync();
}
