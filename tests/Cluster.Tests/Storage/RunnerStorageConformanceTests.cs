using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Storage;

/// <summary>What every <see cref="IRunnerStorage"/> must do. A backend's test class only says how to create one.</summary>
public abstract class RunnerStorageConformanceTests
{
    protected static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    private static readonly RunnerAddress A = new("runner-a", 1);
    private static readonly RunnerAddress B = new("runner-b", 2);
    private static readonly ShardId S1 = new("default", 1);
    private static readonly ShardId S2 = new("default", 2);
    private static readonly ShardId S3 = new("default", 3);

    /// <summary>A fresh, empty storage (a new cluster name per call).</summary>
    protected abstract IRunnerStorage CreateStorage();

    /// <summary>Why this backend cannot run here (the tests are then skipped, not passed); null when it can.</summary>
    protected virtual string? SkipReason => null;

    private Task FactAsync(Func<Task> test)
    {
        Skip.If(SkipReason is not null, SkipReason);
        return test();
    }

    private static RunnerInfo Info(RunnerAddress address, double weight = 1) => new(address, ["default"], weight);

    [SkippableFact]
    public Task RegistersRunnersWithStableMachineIdsAndHealth() => FactAsync(async () =>
    {
        var storage = CreateStorage();
        var a = await storage.RegisterAsync(Info(A), true, default);
        var b = await storage.RegisterAsync(Info(B, weight: 2), true, default);

        Assert.NotEqual(a, b);
        Assert.Equal(a, await storage.RegisterAsync(Info(A), true, default));

        await storage.SetRunnerHealthAsync(B, false, default);
        var runners = (await storage.GetRunnersAsync(default)).OrderBy(r => r.Runner.Address.Host).ToArray();
        Assert.Equal([A, B], runners.Select(r => r.Runner.Address));
        Assert.Equal([true, false], runners.Select(r => r.Healthy));
        Assert.Equal(2, runners[1].Runner.Weight);
        Assert.Equal(["default"], runners[1].Runner.Groups);

        await storage.UnregisterAsync(A, default);
        Assert.Equal([B], (await storage.GetRunnersAsync(default)).Select(r => r.Runner.Address));
    });

    [SkippableFact]
    public Task LeasesAreExclusiveUntilReleasedOrExpired() => FactAsync(async () =>
    {
        var storage = CreateStorage();
        await storage.RegisterAsync(Info(A), true, default);
        await storage.RegisterAsync(Info(B), true, default);

        Assert.Equal([S1, S2], await storage.AcquireAsync(A, [S1, S2], default));
        Assert.Equal([S3], await storage.AcquireAsync(B, [S1, S3], default));
        Assert.Equal([S1, S2], await storage.AcquireAsync(A, [S1, S2], default)); // already ours

        await storage.ReleaseAsync(A, S1, default);
        Assert.Equal([S1], await storage.AcquireAsync(B, [S1], default));
        await storage.ReleaseAsync(A, S3, default); // not ours: no effect
        Assert.Empty(await storage.AcquireAsync(A, [S3], default));

        await storage.ReleaseAllAsync(B, default);
        Assert.Equal([S1, S3], await storage.AcquireAsync(A, [S1, S3], default));
    });

    [SkippableFact]
    public Task RefreshKeepsLeasesAndHeartbeatsAliveAndExpiryFreesThem() => FactAsync(async () =>
    {
        var storage = CreateStorage();
        await storage.RegisterAsync(Info(A), true, default);
        await storage.RegisterAsync(Info(B), true, default);
        await storage.AcquireAsync(A, [S1, S2], default);

        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(Lease / 4);
            Assert.Equal([S1, S2], await storage.RefreshAsync(A, [S1, S2], default));
            await storage.RefreshAsync(B, [], default);
        }

        Assert.Empty(await storage.AcquireAsync(B, [S1], default));
        Assert.Equal(2, (await storage.GetRunnersAsync(default)).Count);

        await Task.Delay(Lease + TimeSpan.FromMilliseconds(500));   // A stops refreshing

        Assert.Equal([S1], await storage.AcquireAsync(B, [S1], default));
        Assert.Equal([S2], await storage.RefreshAsync(A, [S1, S2], default).ContinueWith(_ => storage.AcquireAsync(B, [S2], default)).Unwrap());
    });

    [SkippableFact]
    public Task RunnersWhoseHeartbeatExpiredAreNotListed() => FactAsync(async () =>
    {
        var storage = CreateStorage();
        var registered = System.Diagnostics.Stopwatch.StartNew();   // before A's heartbeat, so a slow second call cannot make A look early
        await storage.RegisterAsync(Info(A), true, default);
        await storage.RegisterAsync(Info(B), true, default);

        // B keeps heartbeating; A never does. A must drop out (not before its lease could expire), B must stay.
        IReadOnlyList<RegisteredRunner> runners;
        do
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
            await storage.RefreshAsync(B, [], default);
            runners = await storage.GetRunnersAsync(default);
            Assert.Contains(runners, r => r.Runner.Address == B);
        }
        while (runners.Any(r => r.Runner.Address == A) && registered.Elapsed < Lease * 3);

        Assert.DoesNotContain(runners, r => r.Runner.Address == A);
        Assert.True(registered.Elapsed >= Lease - TimeSpan.FromMilliseconds(100), $"A dropped out after {registered.ElapsedMilliseconds} ms, before its {Lease.TotalMilliseconds} ms lease");
    });

    [SkippableFact]
    public Task TellsSubscribersOfRunnerChangesAndReleasedLeasesUntilUnsubscribed() => FactAsync(async () =>
    {
        var storage = CreateStorage();
        var notifications = Assert.IsAssignableFrom<IRunnerStorageNotifications>(storage);
        var heard = new System.Collections.Concurrent.ConcurrentQueue<RunnerStorageChange>();
        var subscription = await notifications.SubscribeAsync(heard.Enqueue, default);

        async Task HearsAsync(RunnerStorageChange expected, Func<Task> change)
        {
            heard.Clear();
            await change();
            await SocketRunnerAspire.TestSupport.Eventually.True(() => heard.Contains(expected), TimeSpan.FromSeconds(5), $"a {expected} notification");
        }

        await HearsAsync(RunnerStorageChange.Runners, () => storage.RegisterAsync(Info(A), true, default));
        await storage.AcquireAsync(A, [S1, S2], default);
        await HearsAsync(RunnerStorageChange.ShardsReleased, () => storage.ReleaseAsync(A, S1, default));
        await HearsAsync(RunnerStorageChange.ShardsReleased, () => storage.ReleaseAllAsync(A, default));
        await HearsAsync(RunnerStorageChange.Runners, () => storage.SetRunnerHealthAsync(A, false, default));
        await HearsAsync(RunnerStorageChange.Runners, () => storage.UnregisterAsync(A, default));

        await subscription.DisposeAsync();
        heard.Clear();
        await storage.RegisterAsync(Info(B), true, default);
        await storage.AcquireAsync(B, [S3], default);
        await storage.ReleaseAsync(B, S3, default);
        // A subscriber that still heard would have by now: every notification above arrived well within this.
        await Task.Delay(500);
        Assert.Empty(heard);
    });
}
