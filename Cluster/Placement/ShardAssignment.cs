using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Placement;

/// <summary>
/// Which runner owns which shard, computed the same way on every node from the healthy runners alone (there is no
/// shard manager): per shard group, a consistent-hash ring of the runners serving that group, weighted.
/// </summary>
internal static class ShardAssignment
{
    /// <summary>The owner of every shard of <paramref name="groups"/>; groups no healthy runner serves get no entries.</summary>
    public static Dictionary<ShardId, RunnerAddress> Compute(IReadOnlyCollection<RunnerInfo> healthy, IReadOnlyList<string> groups, int shardsPerGroup)
    {
        var assignment = new Dictionary<ShardId, RunnerAddress>();
        foreach (var group in groups)
        {
            var ring = new HashRing();
            var byKey = new Dictionary<string, RunnerAddress>(StringComparer.Ordinal);
            foreach (var runner in healthy.Where(r => r.Groups.Contains(group)).OrderBy(r => r.Address.ToString(), StringComparer.Ordinal))
            {
                var key = runner.Address.ToString();
                byKey[key] = runner.Address;
                ring.Add(key, runner.Weight);
            }

            if (ring.GetShards(shardsPerGroup) is { } shards)
            {
                for (var i = 0; i < shards.Length; i++)
                {
                    assignment[new ShardId(group, i + 1)] = byKey[shards[i]];
                }
            }
        }

        return assignment;
    }

    /// <summary>
    /// A key that changes exactly when the assignment can: the healthy runners with their weights and groups, in address
    /// order (so the order storage lists them in does not matter).
    /// </summary>
    public static string RunnerSetKey(IEnumerable<RunnerInfo> healthy) =>
        string.Join('|', healthy.OrderBy(r => r.Address.ToString(), StringComparer.Ordinal)
            .Select(r => $"{r.Address}/{r.Weight}/{string.Join(',', r.Groups)}"));
}
