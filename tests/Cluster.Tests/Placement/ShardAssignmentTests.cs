using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Placement;

namespace SocketRunnerAspire.Cluster.Tests.Placement;

public sealed class ShardAssignmentTests
{
    private static readonly string[] Groups = [ShardId.DefaultGroup, "workflow"];

    private static RunnerInfo Runner(int port, double weight = 1, params string[] groups) =>
        new(new RunnerAddress("localhost", port), groups.Length == 0 ? Groups : groups, weight);

    [Fact]
    public void EveryShardOfEveryServedGroupHasAnOwnerFromTheRing()
    {
        RunnerInfo[] runners = [Runner(34431), Runner(34432), Runner(34433)];

        var assignment = ShardAssignment.Compute(runners, Groups, 300);

        Assert.Equal(600, assignment.Count);
        var ring = new HashRing().Add("localhost:34431").Add("localhost:34432").Add("localhost:34433").GetShards(300)!;
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal(ring[i], assignment[new ShardId("workflow", i + 1)].ToString());
            Assert.Equal(ring[i], assignment[new ShardId(ShardId.DefaultGroup, i + 1)].ToString());
        }
    }

    [Fact]
    public void TheOrderStorageListsRunnersInDoesNotMatter()
    {
        RunnerInfo[] runners = [Runner(34431), Runner(34432, weight: 2), Runner(34433)];

        var forward = ShardAssignment.Compute(runners, Groups, 300);
        var backward = ShardAssignment.Compute(runners.Reverse().ToArray(), Groups, 300);

        Assert.Equal(forward.OrderBy(a => a.Key.ToString()), backward.OrderBy(a => a.Key.ToString()));
        Assert.Equal(ShardAssignment.RunnerSetKey(runners), ShardAssignment.RunnerSetKey(runners.Reverse()));
    }

    [Fact]
    public void ARunnerGetsShardsOnlyInTheGroupsItServes()
    {
        RunnerInfo[] runners = [Runner(34431, 1, ShardId.DefaultGroup), Runner(34432, 1, "workflow")];

        var assignment = ShardAssignment.Compute(runners, Groups, 300);

        Assert.All(assignment.Where(a => a.Key.Group == "workflow"), a => Assert.Equal(34432, a.Value.Port));
        Assert.All(assignment.Where(a => a.Key.Group == ShardId.DefaultGroup), a => Assert.Equal(34431, a.Value.Port));
    }

    [Fact]
    public void AGroupNoHealthyRunnerServesIsLeftUnassigned()
    {
        var assignment = ShardAssignment.Compute([Runner(34431, 1, ShardId.DefaultGroup)], Groups, 300);

        Assert.Equal(300, assignment.Count);
        Assert.DoesNotContain(assignment.Keys, shard => shard.Group == "workflow");
        Assert.Empty(ShardAssignment.Compute([], Groups, 300));
    }

    [Fact]
    public void TheRunnerSetKeyChangesWithWeightAndGroupsButNotOrder()
    {
        var key = ShardAssignment.RunnerSetKey([Runner(34431), Runner(34432)]);

        Assert.NotEqual(key, ShardAssignment.RunnerSetKey([Runner(34431), Runner(34432, weight: 2)]));
        Assert.NotEqual(key, ShardAssignment.RunnerSetKey([Runner(34431), Runner(34432, 1, ShardId.DefaultGroup)]));
        Assert.NotEqual(key, ShardAssignment.RunnerSetKey([Runner(34431)]));
        Assert.Equal(key, ShardAssignment.RunnerSetKey([Runner(34432), Runner(34431)]));
    }
}
