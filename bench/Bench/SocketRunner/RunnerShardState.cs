using System.Globalization;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>What one runner holds and which runners its current assignment names; one line on a runner process's stdout.</summary>
public sealed record RunnerShardState(RunnerAddress Address, int Owned, bool HoldsAssignedShards, IReadOnlyList<RunnerAddress> AssignedRunners)
{
    public static RunnerShardState Of(Sharding runner) =>
        new(runner.Address!.Value, runner.OwnedShards.Count, runner.HoldsAssignedShards, runner.AssignedShardCounts().Keys.ToArray());

    /// <summary>
    /// Settled: every runner holds the shards assigned to it, together they own every shard, and the client's and every
    /// runner's assignment name exactly these runners.
    /// </summary>
    public static bool AreSettled(IReadOnlyCollection<RunnerShardState> runners, IReadOnlyDictionary<RunnerAddress, int> clientAssignment)
    {
        var addresses = runners.Select(r => r.Address).ToHashSet();
        return runners.All(r => r.HoldsAssignedShards)
            && runners.Sum(r => r.Owned) == new ShardingOptions().ShardsPerGroup
            && clientAssignment.Count == runners.Count
            && clientAssignment.Keys.All(addresses.Contains)
            && runners.All(r => r.AssignedRunners.All(addresses.Contains));
    }

    public string ToLine() =>
        string.Join(' ', Address, Owned.ToString(CultureInfo.InvariantCulture), HoldsAssignedShards ? "holds" : "missing", string.Join(',', AssignedRunners));

    public static RunnerShardState Parse(string line)
    {
        var parts = line.Split(' ');
        return new RunnerShardState(
            RunnerAddress.Parse(parts[0]),
            int.Parse(parts[1], CultureInfo.InvariantCulture),
            parts[2] == "holds",
            parts.Length < 4 || parts[3].Length == 0 ? [] : parts[3].Split(',').Select(RunnerAddress.Parse).ToArray());
    }
}
