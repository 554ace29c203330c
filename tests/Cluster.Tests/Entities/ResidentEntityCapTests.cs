using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

/// <summary><c>Cluster:MaxResidentEntities</c>: the cap on live instances per runner (Cluster/Entities/ResidentEntities.cs).</summary>
public sealed class ResidentEntityCapTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static Task<TestCluster> StartAsync(int cap, InMemoryMessageStorage? messages = null) =>
        TestCluster.StartAsync(1, tweak: o => o.MaxResidentEntities = cap, messages: messages);

    [Fact]
    public async Task AtTheCapTheLeastRecentlyUsedIdleEntityIsPassivatedToMakeRoom()
    {
        await using var cluster = await StartAsync(cap: 3);
        var runner = cluster.Runners[0];
        var (a, b, c, d) = (Counter(cluster, "a"), Counter(cluster, "b"), Counter(cluster, "c"), Counter(cluster, "d"));
        await a.AskAsync(new Increment(1));
        await b.AskAsync(new Increment(1));
        await c.AskAsync(new Increment(1));
        Assert.Equal(2, await a.AskAsync(new Increment(1)));   // a is now the most recently used; b the least
        await WaitUntilIdleAsync(cluster, a, b, c);

        await d.AskAsync(new Increment(1));

        Assert.False(runner.IsActive(b.Address), "the least recently used idle entity is passivated");
        Assert.True(runner.IsActive(a.Address), "the touched entity stays");
        Assert.True(runner.IsActive(c.Address));
        Assert.True(runner.IsActive(d.Address));
        Assert.Equal(3, runner.ResidentEntities!.Count);
        Assert.Equal(3, await a.AskAsync(new Increment(1)));   // its state survived
    }

    [Fact]
    public async Task WhenNoResidentEntityIsIdleAnActivationFailsTyped()
    {
        await using var cluster = await StartAsync(cap: 2);
        var held = new[] { Counter(cluster, "busy-1").AskAsync(new Hold("g")), Counter(cluster, "busy-2").AskAsync(new Hold("g")) };
        await cluster.Probe.Started.WaitAsync(Timeout);
        await cluster.Probe.Started.WaitAsync(Timeout);
        var third = Counter(cluster, "third");

        var error = await Assert.ThrowsAsync<EntityCapacityExceededException>(() => third.AskAsync(new Increment(1)));

        Assert.Equal(third.Address, error.Address);
        Assert.False(cluster.Runners[0].IsActive(third.Address));
        cluster.Probe.Open("g");
        await Task.WhenAll(held).WaitAsync(Timeout);
        Assert.Equal(1, await third.AskAsync(new Increment(1)));   // an idle one makes room now
    }

    [Fact]
    public async Task WithMoreResidentsThanTheSampleTheOnlyIdleOneIsStillFound()
    {
        const int cap = 40;
        await using var cluster = await StartAsync(cap);
        var idle = Counter(cluster, "the-idle-one");
        await idle.AskAsync(new Increment(1));
        var held = Enumerable.Range(0, cap - 1).Select(i => Counter(cluster, $"busy-{i}").AskAsync(new Hold("g"))).ToArray();
        for (var i = 0; i < held.Length; i++)
        {
            await cluster.Probe.Started.WaitAsync(Timeout);
        }

        await WaitUntilIdleAsync(cluster, idle);

        // A random sample of 16 misses the one idle resident about two times in three; the sweep after it does not.
        Assert.Equal(1, await Counter(cluster, "newcomer").AskAsync(new Increment(1)));

        Assert.False(cluster.Runners[0].IsActive(idle.Address));
        cluster.Probe.Open("g");
        await Task.WhenAll(held).WaitAsync(Timeout);
    }

    [Fact]
    public async Task PersistedMessagesWaitForRoomWhenNoResidentEntityIsIdle()
    {
        await using var cluster = await StartAsync(cap: 1);
        var held = Counter(cluster, "holder").AskAsync(new Hold("g"));
        await cluster.Probe.Started.WaitAsync(Timeout);

        var deposit = Counter(cluster, "waiting").AskAsync(new Deposit("waits", 2));
        await Eventually.True(() => cluster.Runners[0].ResidentEntities!.Count == 1 && !deposit.IsCompleted, Timeout, "the deposit waits");
        Assert.False(cluster.Probe.Runs.ContainsKey("waits"));

        cluster.Probe.Open("g");
        await held.WaitAsync(Timeout);
        Assert.Equal(2, await deposit.WaitAsync(Timeout));
    }

    [Fact]
    public async Task APersistedBacklogOfMoreEntitiesThanTheCapCompletesWithoutExceedingIt()
    {
        var messages = new InMemoryMessageStorage();
        await using var cluster = await StartAsync(cap: 4, messages);
        const int entities = 40;

        for (var i = 0; i < entities; i++)
        {
            await Counter(cluster, $"backlog-{i}").TellAsync(new Note($"n-{i}"));
        }

        await Eventually.True(() => cluster.Probe.Runs.Count == entities, Timeout,
            () => $"every stored note is handled ({cluster.Probe.Runs.Count} of {entities})");
        var residents = cluster.Runners[0].ResidentEntities!;
        Assert.True(residents.Peak <= 4, $"at most 4 entities were live at once (peak {residents.Peak})");
        Assert.All(cluster.Probe.Runs.Values, runs => Assert.Equal(1, runs));
        await Eventually.True(async () => (await messages.UnprocessedMessagesAsync(cluster.Runners[0].OwnedShards, 100, default)).Count == 0,
            Timeout, "nothing is left unprocessed");
    }

    /// <summary>A caller has its reply a moment before the instance counts the request done; wait for that, so the instance is idle.</summary>
    private static Task WaitUntilIdleAsync(TestCluster cluster, params EntityRef<CounterEntity>[] entities) =>
        Eventually.True(() => entities.All(e => cluster.Runners[0].MailboxDepth(e.Address) == 0), Timeout, "the entities have no unreplied request");

    private static EntityRef<CounterEntity> Counter(TestCluster cluster, string id) => cluster.Client.GetEntity<CounterEntity>(id);
}
