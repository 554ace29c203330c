using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Ids;

public sealed class SnowflakeGeneratorTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void UsesEffectsLayoutAndParsesBack()
    {
        var at = SnowflakeGenerator.Epoch.AddMilliseconds(123_456_789);
        var generator = new SnowflakeGenerator(1029, new FixedTime(at));   // machine ids are taken mod 1024

        var first = generator.Next();
        var second = generator.Next();

        Assert.Equal((123_456_789L << 22) | (5L << 12), first);
        Assert.Equal(first + 1, second);
        Assert.Equal(new SnowflakeParts(at, 5, 1), SnowflakeGenerator.Parse(second));
    }

    [Fact]
    public void MoreThan4096IdsInOneMillisecondBorrowFromTheNextAndNeverRepeat()
    {
        var generator = new SnowflakeGenerator(7, new FixedTime(SnowflakeGenerator.Epoch.AddSeconds(10)));

        var ids = Enumerable.Range(0, 10_000).Select(_ => generator.Next()).ToArray();

        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(7, SnowflakeGenerator.Parse(id).MachineId));
    }

    [Fact]
    public async Task IsMonotonicPerThreadAndUniqueUnderConcurrency()
    {
        var generator = new SnowflakeGenerator(3);
        var all = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var previous = 0L;
            for (var i = 0; i < 50_000; i++)
            {
                var id = generator.Next();
                Assert.True(id > previous, "ids went backwards");
                previous = id;
                all.Add(id);
            }
        })));

        Assert.Equal(400_000, all.Distinct().Count());
    }

    [Fact]
    public async Task RunnersMakeIdsWithTheirRegisteredMachineIdsSoTheyNeverCollide()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        var perRunner = cluster.Runners.Select(r => (Runner: r, Ids: Enumerable.Range(0, 5000).Select(_ => r.NewSnowflakeId()).ToArray())).ToArray();

        Assert.Equal(3, perRunner.Select(r => r.Runner.MachineId).Distinct().Count());
        foreach (var (runner, ids) in perRunner)
        {
            Assert.All(ids, id => Assert.Equal(runner.MachineId!.Value % 1024, SnowflakeGenerator.Parse(id).MachineId));
        }

        Assert.Equal(15_000, perRunner.SelectMany(r => r.Ids).Distinct().Count());
    }
}
