using SocketRunnerAspire.Cluster.Placement;

namespace SocketRunnerAspire.Cluster.Tests.Placement;

public sealed class HashRingTests
{
    [Fact]
    public void ThreeEqualRunnersGetOneHundredShardsEach()
    {
        var shards = new HashRing().Add("localhost:34431").Add("localhost:34432").Add("localhost:34433").GetShards(300)!;

        Assert.Equal(300, shards.Length);
        Assert.All(shards.GroupBy(s => s), g => Assert.Equal(100, g.Count()));
    }

    [Fact]
    public void FirstTwelveShardsMatchEffect()
    {
        var shards = new HashRing().Add("localhost:34431").Add("localhost:34432").Add("localhost:34433").GetShards(300)!;

        int[] expected = [34432, 34431, 34432, 34431, 34431, 34433, 34431, 34431, 34432, 34433, 34432, 34433];
        Assert.Equal(expected.Select(port => $"localhost:{port}"), shards.Take(12));
    }

    [Fact]
    public void WeightsSplitShardsProportionallyAsEffectDoes()
    {
        var shards = new HashRing().Add("runner-a:34431").Add("runner-b:34431").Add("runner-c:34431", weight: 2).GetShards(300)!;

        Assert.Equal(150, shards.Count(s => s == "runner-c:34431"));
        Assert.Equal(75, shards.Count(s => s == "runner-a:34431"));
        Assert.Equal(75, shards.Count(s => s == "runner-b:34431"));
        Assert.Equal("c,c,c,c,c,a,c,c,c,c".Split(','), shards.Take(10).Select(s => s[7..8]));
    }

    [Fact]
    public void SingleRunnerGetsEveryShardAndEmptyRingNone()
    {
        Assert.All(new HashRing().Add("only:1").GetShards(300)!, s => Assert.Equal("only:1", s));
        Assert.Null(new HashRing().GetShards(300));
        Assert.Null(new HashRing().Get("anything"));
    }

    [Fact]
    public void RemovingARunnerMovesOnlyItsShardsAndKeepsBalance()
    {
        var ring = new HashRing().Add("a:1").Add("b:1").Add("c:1").Add("d:1");
        var before = ring.GetShards(300)!;
        Assert.All(before.GroupBy(s => s), g => Assert.Equal(75, g.Count()));

        var after = ring.Remove("d:1").GetShards(300)!;
        Assert.All(after.GroupBy(s => s), g => Assert.Equal(100, g.Count()));
        Assert.DoesNotContain("d:1", after);
        Assert.Equal(3, ring.Nodes.Count);
    }

    [Fact]
    public void ReAddingWithAnotherWeightReplacesThePoints()
    {
        var ring = new HashRing().Add("a:1").Add("b:1");
        ring.Add("b:1", weight: 3);
        var shards = ring.GetShards(400)!;
        Assert.Equal(300, shards.Count(s => s == "b:1"));
        Assert.Equal(100, shards.Count(s => s == "a:1"));
    }
}
