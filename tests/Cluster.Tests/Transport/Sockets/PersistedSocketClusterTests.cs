using System.Diagnostics;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;
using Xunit.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Persisted messages across three runners and a client-only node, each with its own socket transport, over
/// loopback TCP, with Redis RunnerStorage and MessageStorage on Garnet: runner deaths, duplicates, load, DeliverAt
/// and a storage outage.
/// </summary>
public sealed class PersistedSocketClusterTests(GarnetFixture garnet, ITestOutputHelper output) : IClassFixture<GarnetFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1.5);

    private async Task<(TestCluster Cluster, RecordingMessageStorage Messages)> StartAsync(IConnectionMultiplexer? connection = null, TimeSpan? lease = null, int runners = 3)
    {
        var name = $"p{Guid.NewGuid():N}";
        var redis = connection ?? garnet.Connection;
        var messages = new RecordingMessageStorage(new RedisMessageStorage(redis, name, TimeSpan.FromMinutes(10)));
        var cluster = await TestCluster.StartAsync(runners,
            tweak: o =>
            {
                o.ShardLockExpiration = lease ?? Lease;
                o.StorageTimeout = TimeSpan.FromSeconds(1);
            },
            storage: new RedisRunnerStorage(redis, name, lease ?? Lease),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback(),
            messages: messages);
        return (cluster, messages);
    }

    [Fact]
    public async Task ARequestSavedButNotYetHandledWhenItsOwnerDiesIsHandledOnceByTheNextOwner()
    {
        var (cluster, messages) = await StartAsync();
        await using var disposeCluster = cluster;
        var account = cluster.Client.GetEntity<CounterEntity>("victim");
        var owner = cluster.Runners.Single(r => r.Address == cluster.Client.GetOwner(account.Address.ShardId));

        // Occupy the entity so the persisted request waits in its mailbox on the owner.
        _ = account.AskAsync(new Hold("blocker"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        var deposit = account.AskAsync(new Deposit("survivor", 5));
        await Eventually.True(() => !messages.Requests.IsEmpty, TimeSpan.FromSeconds(5), "the request is saved");
        // Queued behind the blocker (one message at a time), it cannot have run.
        await Eventually.True(() => owner.MailboxDepth(account.Address) == 2, TimeSpan.FromSeconds(5), "the request waits in the owner's mailbox");
        Assert.False(cluster.Probe.Runs.ContainsKey("survivor"));

        await cluster.CrashRunnerAsync(owner);
        cluster.Probe.Open("blocker");   // the volatile Hold is retried on the next owner too; let it finish there

        try
        {
            Assert.Equal(5, await deposit.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            output.WriteLine($"runs: {string.Join(",", cluster.Probe.Runs.Keys)}; replies: {string.Join(",", messages.Replies.Select(r => r.RequestId))}; requests: {string.Join(",", messages.Requests.Select(r => r.Id + "/" + r.Address))}");
            output.WriteLine($"owner now: {cluster.Client.GetOwner(account.Address.ShardId)}; runners: {string.Join(",", cluster.Runners.Select(r => r.Address + ":" + r.OwnedShards.Contains(account.Address.ShardId)))}");
            foreach (var (level, category, message) in cluster.Logs.Entries)
            {
                output.WriteLine($"{level} {category}: {message}");
            }
        }

        Assert.Equal(1, cluster.Probe.Runs["survivor"]);
        Assert.NotEqual(owner.Address, cluster.Probe.HandledBy["survivor"]);
    }

    [Fact]
    public async Task ADuplicatePrimaryKeyFromSeveralSendersRunsOnce()
    {
        var (cluster, _) = await StartAsync();
        await using var disposeCluster = cluster;
        var senders = new[] { cluster.Client, cluster.Runners[0], cluster.Runners[1], cluster.Runners[2] };

        var replies = await Task.WhenAll(senders.SelectMany(s => Enumerable.Range(0, 3).Select(_ => s.GetEntity<CounterEntity>("dup").AskAsync(new Deposit("pay-1", 9)))));

        Assert.All(replies, r => Assert.Equal(9, r));
        Assert.Equal(1, cluster.Probe.Runs["pay-1"]);
    }

    [Fact]
    public async Task TenThousandPersistedMessagesSurviveARunnerKilledMidway()
    {
        const int total = 10_000;
        var (cluster, _) = await StartAsync();
        await using var disposeCluster = cluster;
        var victim = cluster.Runners[1];
        using var concurrency = new SemaphoreSlim(256);
        var completed = 0;
        var killed = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();

        var sends = Enumerable.Range(0, total).Select(async i =>
        {
            await concurrency.WaitAsync();
            try
            {
                var reply = await cluster.Client.GetEntity<CounterEntity>($"acct-{i % 1000}").AskAsync(new Deposit($"m-{i}", 1));
                if (Interlocked.Increment(ref completed) == total / 2)
                {
                    var elapsed = clock.Elapsed;
                    _ = cluster.CrashRunnerAsync(victim).ContinueWith(_ => killed.TrySetResult(elapsed), TaskScheduler.Default);
                }

                return reply;
            }
            finally
            {
                concurrency.Release();
            }
        }).ToArray();
        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromMinutes(3));
        var firstHalf = await killed.Task;

        Assert.Equal(total, cluster.Probe.Runs.Count);
        Assert.Contains(cluster.Probe.HandledBy.Values, runner => runner == victim.Address);

        // Exactly once, except what the killed runner had finished but not yet recorded as done when it died:
        // that ran again on the next owner (at-least-once). Nothing else may run twice.
        var reruns = cluster.Probe.Runs.Where(run => run.Value > 1).Select(run => run.Key).ToHashSet();
        var history = cluster.Probe.History.ToArray();
        foreach (var key in reruns)
        {
            output.WriteLine($"{key} ran on {string.Join(", ", history.Where(h => h.Key == key).Select(h => h.Runner))} (victim {victim.Address})");
        }

        Assert.All(reruns, key =>
        {
            var runners = history.Where(h => h.Key == key).Select(h => h.Runner).ToArray();
            Assert.Equal(2, runners.Length);
            Assert.Equal(victim.Address, runners[0]);
        });
        output.WriteLine($"{reruns.Count} messages ran again after the kill (finished on the killed runner, reply not yet saved)");
        var runsBeforeRepeats = cluster.Probe.History.Count;
        output.WriteLine($"{total / 2} persisted request/replies before the kill in {firstHalf.TotalSeconds:0.00} s = {total / 2 / firstHalf.TotalSeconds:0} msg/s; all {total} in {clock.Elapsed.TotalSeconds:0.00} s");

        // Sending a used key again returns the stored reply and runs nothing.
        var repeats = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => cluster.Client.GetEntity<CounterEntity>($"acct-{i}").AskAsync(new Deposit($"m-{i}", 1))));
        Assert.Equal(runsBeforeRepeats, cluster.Probe.History.Count);
        Assert.All(repeats, balance => Assert.InRange(balance, 1, 10));
    }

    [Fact]
    public async Task DeliverAtIsHonouredAcrossTheCluster()
    {
        var (cluster, _) = await StartAsync();
        await using var disposeCluster = cluster;
        var deliverAt = DateTimeOffset.UtcNow.AddSeconds(1.5);

        await cluster.Client.GetEntity<CounterEntity>("timer").TellAsync(new RecordAt("tick", deliverAt));
        Assert.False(cluster.Probe.Runs.ContainsKey("tick"));

        await Eventually.True(() => cluster.Probe.HandledAt.ContainsKey("tick"), TimeSpan.FromSeconds(10), "the delayed message is handled");
        Assert.True(cluster.Probe.HandledAt["tick"] >= deliverAt, $"handled at {cluster.Probe.HandledAt["tick"]:O}, before {deliverAt:O}");
    }

    [Fact]
    public async Task AStorageOutageFailsPersistedSendsTypedLosesNothingAndVolatileTrafficFlows()
    {
        await using var proxy = new TcpProxy(garnet.Port);
        proxy.Start();
        var options = ConfigurationOptions.Parse($"127.0.0.1:{proxy.Port},abortConnect=false,connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000,connectRetry=1");
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ReconnectRetryPolicy = new LinearRetry(200);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var (cluster, _) = await StartAsync(connection, lease: TimeSpan.FromSeconds(20));
        await using var disposeCluster = cluster;
        var accepted = new List<string>();

        for (var i = 0; i < 50; i++)
        {
            await cluster.Client.GetEntity<CounterEntity>($"o-{i}").TellAsync(new Note($"before-{i}"));
            accepted.Add($"before-{i}");
        }

        await proxy.StopAsync();
        var failures = 0;
        for (var i = 0; i < 10; i++)
        {
            try
            {
                await cluster.Client.GetEntity<CounterEntity>($"o-{i}").AskAsync(new Deposit($"during-{i}", 1));
                accepted.Add($"during-{i}");
            }
            catch (PersistenceException)
            {
                failures++;
            }

            Assert.Equal(1, await cluster.Client.GetEntity<CounterEntity>($"volatile-{i}").AskAsync(new Increment(1)));
        }

        Assert.True(failures >= 8, $"only {failures} of 10 persisted sends failed while storage was unreachable");

        proxy.Start();
        await Eventually.True(() => connection.IsConnected, TimeSpan.FromSeconds(15), "the storage connection is back");
        for (var i = 0; i < 50; i++)
        {
            await cluster.Client.GetEntity<CounterEntity>($"o-{i}").TellAsync(new Note($"after-{i}"));
            accepted.Add($"after-{i}");
        }

        await Eventually.True(() => accepted.All(cluster.Probe.Runs.ContainsKey), TimeSpan.FromSeconds(30),
            () => $"every accepted message is handled (missing: {string.Join(", ", accepted.Where(k => !cluster.Probe.Runs.ContainsKey(k)))})");
        Assert.All(accepted, key => Assert.Equal(1, cluster.Probe.Runs[key]));
    }
}
