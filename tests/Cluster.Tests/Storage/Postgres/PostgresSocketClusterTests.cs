using SocketRunnerAspire.Cluster.Storage.Postgres;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Postgres;

/// <summary>
/// Persisted messages across three runners and a client-only node over loopback TCP sockets, with PostgreSQL
/// RunnerStorage and MessageStorage on a throw-away server (as <c>PersistedSocketClusterTests</c> does on Garnet):
/// a runner crash loses no request and runs none twice.
/// </summary>
public sealed class PostgresSocketClusterTests(PostgresServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>
{
    // Whole seconds: the SQL storage rounds lease expiry up to seconds, as Effect's does. Longer than the Garnet
    // suite's 1.5 s: on a loaded 2-core machine a live runner that misses refreshes for a whole lease loses its shards,
    // and what it was running then runs again on the next owner (at-least-once, but not the crash this test is about).
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    private async Task<(TestCluster Cluster, RecordingMessageStorage Messages)> StartAsync()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var messages = new RecordingMessageStorage(new PostgresMessageStorage(postgres.DataSource, prefix));
        var cluster = await TestCluster.StartAsync(3,
            tweak: o =>
            {
                o.ShardLockExpiration = Lease;
                o.StorageTimeout = TimeSpan.FromSeconds(2);
            },
            storage: new PostgresRunnerStorage(postgres.DataSource, Lease, prefix),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback(),
            messages: messages);
        return (cluster, messages);
    }

    [SkippableFact]
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
        await Eventually.True(() => owner.MailboxDepth(account.Address) == 2, TimeSpan.FromSeconds(5), "the request waits in the owner's mailbox");
        Assert.False(cluster.Probe.Runs.ContainsKey("survivor"));

        await cluster.CrashRunnerAsync(owner);
        cluster.Probe.Open("blocker");

        try
        {
            Assert.Equal(5, await deposit.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            output.WriteLine($"runs: {string.Join(",", cluster.Probe.Runs.Keys)}; owner now: {cluster.Client.GetOwner(account.Address.ShardId)}");
            foreach (var (level, category, message) in cluster.Logs.Entries)
            {
                output.WriteLine($"{level} {category}: {message}");
            }
        }

        Assert.Equal(1, cluster.Probe.Runs["survivor"]);
        Assert.NotEqual(owner.Address, cluster.Probe.HandledBy["survivor"]);
    }

    // Known bug, open: about 1 run in 5 on a 2-core machine under heavy load (never in 50 runs on a quieter one), one
    // request runs twice on the same surviving runner after the kill (m-1372, later m-1264). At-least-once holds; the
    // once-only guarantee the Redis storage keeps (the same test on Garnet passes) does not yet. Ruled out so far: the
    // final-reply save marks the row processed in the same implicit transaction; the read is SELECT ... FOR UPDATE (a
    // concurrently processed row is re-checked and skipped); no lease was lost and no storage call failed in the failing
    // runs (no warning logged); this runtime's sender never resends a persisted request by RPC after a follow failure (it
    // waits in storage), so LostReplyTests' case is not it either. Skipped rather than loosened until the cause is found.
    [SkippableFact(Skip = "Known bug: a rare duplicate run on a surviving runner with PostgreSQL storage under heavy load (see the comment above).")]
    public async Task EveryPersistedRequestIsAnsweredOnceThoughARunnerIsKilledMidway()
    {
        const int total = 2_000;
        var (cluster, _) = await StartAsync();
        await using var disposeCluster = cluster;
        var victim = cluster.Runners[1];
        using var concurrency = new SemaphoreSlim(64);
        var completed = 0;

        var sends = Enumerable.Range(0, total).Select(async i =>
        {
            await concurrency.WaitAsync();
            try
            {
                var reply = await cluster.Client.GetEntity<CounterEntity>($"acct-{i % 200}").AskAsync(new Deposit($"m-{i}", 1));
                if (Interlocked.Increment(ref completed) == total / 2)
                {
                    _ = cluster.CrashRunnerAsync(victim);
                }

                return reply;
            }
            finally
            {
                concurrency.Release();
            }
        }).ToArray();
        var replies = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.All(replies, balance => Assert.InRange(balance, 1, total / 200));
        Assert.Equal(total, cluster.Probe.Runs.Count);
        Assert.Contains(cluster.Probe.HandledBy.Values, runner => runner == victim.Address);

        // Exactly once, except what the killed runner had finished but not yet recorded as done when it died.
        var history = cluster.Probe.History.ToArray();
        var reruns = cluster.Probe.Runs.Where(run => run.Value > 1).Select(run => run.Key).ToArray();
        output.WriteLine($"{reruns.Length} messages ran again after the kill (victim {victim.Address})");
        foreach (var key in reruns)
        {
            output.WriteLine($"{key} ran on {string.Join(", ", history.Where(h => h.Key == key).Select(h => h.Runner))}");
        }

        if (reruns.Length > 0)
        {
            foreach (var (level, category, message) in cluster.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning))
            {
                output.WriteLine($"{level} {category}: {message}");
            }
        }
        Assert.All(reruns, key =>
        {
            var runners = history.Where(h => h.Key == key).Select(h => h.Runner).ToArray();
            Assert.Equal(2, runners.Length);
            Assert.Equal(victim.Address, runners[0]);
        });

        // A used primary key again: the stored reply, nothing runs.
        var runsBefore = cluster.Probe.History.Count;
        var repeats = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => cluster.Client.GetEntity<CounterEntity>($"acct-{i}").AskAsync(new Deposit($"m-{i}", 1))));
        Assert.Equal(runsBefore, cluster.Probe.History.Count);
        Assert.All(repeats, balance => Assert.InRange(balance, 1, total / 200));
    }
}
