using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Tests.Timing;

public sealed class BackoffTests
{
    [Fact]
    public void EachDelayIsItsStepPlusAtMostAQuarterAndTheStepGrowsUpToTheMaximum()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), factor: 2, new Random(7));
        double[] steps = [100, 200, 400, 800, 1000, 1000];
        foreach (var step in steps)
        {
            var delay = backoff.Next().TotalMilliseconds;
            Assert.InRange(delay, step, step * 1.25);
        }

        Assert.Equal(steps.Length, backoff.Attempts);
    }

    [Fact]
    public void DelaysAreJitteredSoNodesDoNotRetryInLockStep()
    {
        var first = Enumerable.Range(0, 50).Select(seed => new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), random: new Random(seed)).Next()).ToHashSet();

        Assert.True(first.Count > 40, $"only {first.Count} distinct delays out of 50");
    }

    [Fact]
    public void ResetStartsAgainFromTheFirstStep()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), factor: 1.5);
        for (var i = 0; i < 10; i++)
        {
            backoff.Next();
        }

        backoff.Reset();

        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Step);
        Assert.InRange(backoff.Next().TotalMilliseconds, 100, 125);
    }

    [Fact]
    public void FactorOneKeepsEveryStepAtTheFirst()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300), factor: 1);
        for (var i = 0; i < 20; i++)
        {
            Assert.InRange(backoff.Next().TotalMilliseconds, 300, 375);
        }
    }

    [Fact]
    public void ManyFailuresDoNotOverflowTheStep()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1));
        for (var i = 0; i < 1_000; i++)
        {
            backoff.Next();
        }

        Assert.Equal(TimeSpan.FromMinutes(1), backoff.Step);
    }
}
