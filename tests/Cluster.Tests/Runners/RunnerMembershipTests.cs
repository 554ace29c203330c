using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Runners;

public sealed class RunnerMembershipTests
{
    private static readonly ShardingOptions Options = new() { ShardsPerGroup = 300, RefreshAssignmentsInterval = TimeSpan.FromHours(1) };

    private static RunnerInfo Runner(int port) => new(new RunnerAddress("localhost", port), [ShardId.DefaultGroup], 1);

    [Fact]
    public async Task ARunnerRegistersGetsAMachineIdAndAnAssignmentOfTheHealthyRunners()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(TimeSpan.FromMinutes(1), time);
        await storage.RegisterAsync(Runner(34432), healthy: true, CancellationToken.None);
        var membership = new RunnerMembership(Options, storage, new InMemoryRunnerTransport(), Runner(34431), time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();

        var loop = await membership.StartAsync(stop.Token);

        Assert.NotNull(membership.MachineId);
        Assert.Equal(membership.MachineId, Cluster.Ids.SnowflakeGenerator.Parse(membership.Ids.Next()).MachineId);
        Assert.Equal(2, membership.Runners.Count);
        Assert.Equal(300, membership.Assignment.Count);
        Assert.Equal([34431, 34432], membership.Assignment.Values.Select(r => r.Port).Distinct().Order());
        await stop.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task TheAssignmentChangesOnlyWhenTheHealthyRunnersDo()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(TimeSpan.FromMinutes(1), time);
        var membership = new RunnerMembership(Options, storage, new InMemoryRunnerTransport(), Runner(34431), time, NullLogger.Instance);
        var changes = 0;
        membership.AssignmentChanged += () => Interlocked.Increment(ref changes);
        await membership.SyncOnceAsync();
        Assert.Equal(1, changes);
        Assert.All(membership.Assignment.Values, owner => Assert.Equal(34431, owner.Port));

        await membership.SyncOnceAsync();
        Assert.Equal(1, changes);

        await storage.RegisterAsync(Runner(34432), healthy: true, CancellationToken.None);
        await membership.SyncOnceAsync();
        Assert.Equal(2, changes);
        Assert.Contains(membership.Assignment.Values, owner => owner.Port == 34432);

        await storage.SetRunnerHealthAsync(new RunnerAddress("localhost", 34432), healthy: false, CancellationToken.None);
        await membership.SyncOnceAsync();
        Assert.Equal(3, changes);
        Assert.All(membership.Assignment.Values, owner => Assert.Equal(34431, owner.Port));
    }

    [Fact]
    public async Task WhenNoRunnerIsHealthyARunnerMarksItselfHealthy()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(TimeSpan.FromMinutes(1), time);
        await storage.RegisterAsync(Runner(34431), healthy: false, CancellationToken.None);
        await storage.RegisterAsync(Runner(34432), healthy: false, CancellationToken.None);
        var membership = new RunnerMembership(Options, storage, new InMemoryRunnerTransport(), Runner(34432), time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();

        var loop = await membership.StartAsync(stop.Token);

        var runners = await storage.GetRunnersAsync(CancellationToken.None);
        Assert.True(runners.Single(r => r.Runner.Address.Port == 34432).Healthy);
        Assert.False(runners.Single(r => r.Runner.Address.Port == 34431).Healthy);
        await stop.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task AClientOnlyNodeReadsRunnersButNeverRegisters()
    {
        var time = new ObservedFakeTime();
        var storage = new InMemoryRunnerStorage(TimeSpan.FromMinutes(1), time);
        await storage.RegisterAsync(Runner(34431), healthy: true, CancellationToken.None);
        var membership = new RunnerMembership(Options, storage, new InMemoryRunnerTransport(), self: null, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();

        var loop = await membership.StartAsync(stop.Token);

        Assert.Null(membership.MachineId);
        Assert.Single(await storage.GetRunnersAsync(CancellationToken.None));
        Assert.Equal(new RunnerAddress("localhost", 34431), membership.OwnerOf(new ShardId(ShardId.DefaultGroup, 1)));
        await stop.CancelAsync();
        await loop;
    }
}
