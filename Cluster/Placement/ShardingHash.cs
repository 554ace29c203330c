using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Placement;

/// <summary>
/// The string hash Effect uses for entity ids and ring points (<c>Hash.string</c>): djb2 with XOR over
/// UTF-16 code units from last to first, then Effect's <c>optimize</c> bit mix. C# and TypeScript
/// clusters agree on placement because they compute the same value.
/// </summary>
public static class ShardingHash
{
    /// <summary>The 32-bit hash of <paramref name="value"/>.</summary>
    public static int Compute(ReadOnlySpan<char> value)
    {
        var h = 5381;
        for (var i = value.Length - 1; i >= 0; i--)
        {
            h = unchecked((h * 33) ^ value[i]);
        }

        return Optimize(h);
    }

    /// <summary>The shard number (1-based) of <paramref name="entityId"/> among <paramref name="shardsPerGroup"/> shards.</summary>
    public static int ShardNumber(ReadOnlySpan<char> entityId, int shardsPerGroup) =>
        Math.Abs(Compute(entityId) % shardsPerGroup) + 1;

    /// <summary>The shard of <paramref name="entityId"/> in <paramref name="group"/> (singletons hash their name the same way).</summary>
    public static ShardId ShardOf(string entityId, string group, int shardsPerGroup) => new(group, ShardNumber(entityId, shardsPerGroup));

    private static int Optimize(int h) =>
        (int)(((uint)h & 0xBFFFFFFFu) | (((uint)h >> 1) & 0x40000000u));
}
