using SocketRunnerAspire.Cluster.Placement;

namespace SocketRunnerAspire.Cluster.Tests.Placement;

/// <summary>Vectors from shared/test-vectors.md, computed with effect 4.1.0.</summary>
public sealed class ShardingHashTests
{
    [Theory]
    [InlineData("", 5381, 282)]
    [InlineData("a", 177604, 5)]
    [InlineData("counter-1", 815810285, 186)]
    [InlineData("cart-42", 322648042, 143)]
    [InlineData("user:1000", 535405007, 108)]
    public void MatchesEffectHashAndShard(string entityId, int hash, int shard)
    {
        Assert.Equal(hash, ShardingHash.Compute(entityId));
        Assert.Equal(shard, ShardingHash.ShardNumber(entityId, 300));
    }

    [Fact]
    public void MatchesEffectForALongId()
    {
        var id = new string('x', 100);
        Assert.Equal(414387461, ShardingHash.Compute(id));
        Assert.Equal(162, ShardingHash.ShardNumber(id, 300));
    }

    [Fact]
    public void ShardIsAlwaysInRangeEvenForNegativeHashes()
    {
        var ids = Enumerable.Range(0, 5000).Select(i => $"entity-{i}-{new string('z', i % 37)}").ToArray();
        Assert.Contains(ids, id => ShardingHash.Compute(id) < 0);
        Assert.All(ids, id => Assert.InRange(ShardingHash.ShardNumber(id, 300), 1, 300));
    }
}
