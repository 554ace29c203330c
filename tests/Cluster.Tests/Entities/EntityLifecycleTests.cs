using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

public sealed class EntityLifecycleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task FullMailboxRejectsTheNextRequestWithMailboxFull()
    {
        await using var cluster = await TestCluster.StartAsync(1, entity: e => e.WithMailboxCapacity(2));
        var counter = cluster.Client.GetEntity<CounterEntity>("busy");

        var first = counter.AskAsync(new Hold("a"));   // running
        await cluster.Probe.Started.WaitAsync(Timeout);
        var second = counter.AskAsync(new Hold("a"));  // queued: 2 unreplied requests = capacity

        var error = await Assert.ThrowsAsync<MailboxFullException>(() => counter.AskAsync(new Increment(1)));
        Assert.Equal(counter.Address, error.Address);

        cluster.Probe.Open("a");
        Assert.Equal(1, await first.WaitAsync(Timeout));
        Assert.Equal(1, await second.WaitAsync(Timeout));
        Assert.Equal(1, await counter.AskAsync(new Increment(1)));   // the rejected one was never enqueued
    }

    [Fact]
    public async Task MessagesAreHandledOneAtATimeByDefault()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var counter = cluster.Client.GetEntity<CounterEntity>("serial");

        var calls = Enumerable.Range(0, 5).Select(_ => counter.AskAsync(new Hold("s"))).ToArray();
        await cluster.Probe.Started.WaitAsync(Timeout);
        // Every call is in the mailbox, so a worker free to take another would have started it.
        await Eventually.True(() => cluster.Runners[0].MailboxDepth(counter.Address) == 5, Timeout, "all five calls are queued");
        Assert.Equal(1, cluster.Probe.Running);

        cluster.Probe.Open("s");
        await Task.WhenAll(calls).WaitAsync(Timeout);
        Assert.Equal(1, cluster.Probe.MaxRunning);
    }

    [Fact]
    public async Task ConcurrencyLimitIsRespected()
    {
        await using var cluster = await TestCluster.StartAsync(1, entity: e => e.WithConcurrency(3));
        var counter = cluster.Client.GetEntity<CounterEntity>("parallel");

        var calls = Enumerable.Range(0, 10).Select(_ => counter.AskAsync(new Hold("p"))).ToArray();
        for (var i = 0; i < 3; i++)
        {
            await cluster.Probe.Started.WaitAsync(Timeout);
        }

        await Eventually.True(() => cluster.Runners[0].MailboxDepth(counter.Address) == 10, Timeout, "all ten calls are queued");
        Assert.Equal(3, cluster.Probe.Running);

        cluster.Probe.Open("p");
        await Task.WhenAll(calls).WaitAsync(Timeout);
        Assert.Equal(3, cluster.Probe.MaxRunning);
    }

    [Fact]
    public async Task IdleEntitiesArePassivatedAndReactivatedWithFreshState()
    {
        await using var cluster = await TestCluster.StartAsync(1, entity: e => e.WithMaxIdleTime(TimeSpan.FromMilliseconds(300)));
        var counter = cluster.Client.GetEntity<CounterEntity>("sleepy");

        Assert.Equal(2, await counter.AskAsync(new Increment(2)));
        Assert.True(cluster.Runners[0].IsActive(counter.Address));

        await Eventually.True(() => !cluster.Runners[0].IsActive(counter.Address), Timeout, "the idle entity is passivated");

        Assert.Equal(1, await counter.AskAsync(new Increment(1)));
        Assert.Equal(2, cluster.Probe.Created);
    }

    [Fact]
    public async Task KeepAliveEntitiesAreNotPassivated()
    {
        await using var cluster = await TestCluster.StartAsync(1, entity: e => e.WithMaxIdleTime(TimeSpan.FromMilliseconds(200)));
        var counter = cluster.Client.GetEntity<CounterEntity>("awake");

        Assert.True(await counter.AskAsync(new SetKeepAlive(true)));
        // A witness of the same type, idle since after the keep-alive was set: once it is passivated, a reaper pass
        // has found the kept-alive entity idle for longer than the max idle time too.
        var witness = cluster.Client.GetEntity<CounterEntity>("witness");
        await witness.AskAsync(new Increment(1));
        await Eventually.True(() => !cluster.Runners[0].IsActive(witness.Address), Timeout, "the idle witness is passivated");
        Assert.True(cluster.Runners[0].IsActive(counter.Address));

        Assert.False(await counter.AskAsync(new SetKeepAlive(false)));
        await Eventually.True(() => !cluster.Runners[0].IsActive(counter.Address), Timeout, "the entity is passivated after keep-alive ends");
    }

    [Fact]
    public async Task StreamingRepliesArriveInOrderLocallyAndRemotely()
    {
        await using var cluster = await TestCluster.StartAsync(3);

        var fromClient = new List<int>();
        await foreach (var item in cluster.Client.GetEntity<CounterEntity>("streamer").StreamAsync(new CountTo(50)))
        {
            fromClient.Add(item);
        }

        var owner = cluster.Runners.Single(r => r.Address == cluster.Client.GetOwner(cluster.Client.GetShardId("streamer")));
        var local = new List<int>();
        await foreach (var item in owner.GetEntity<CounterEntity>("streamer").StreamAsync(new CountTo(5)))
        {
            local.Add(item);
        }

        Assert.Equal(Enumerable.Range(1, 50), fromClient);
        Assert.Equal(Enumerable.Range(1, 5), local);
    }

    [Fact]
    public async Task StoppingARunnerEndsOpenStreamsAtOnceInsteadOfWaitingOutTheTerminationTimeout()
    {
        await using var cluster = await TestCluster.StartAsync(1, tweak: o => o.EntityTerminationTimeout = TimeSpan.FromSeconds(30));
        await using var watch = cluster.Client.GetEntity<CounterEntity>("watched").StreamAsync(new CountTo(int.MaxValue)).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync());   // open, its handler running and blocked on the unread stream

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await cluster.StopRunnerAsync(cluster.Runners[0]).WaitAsync(Timeout);

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopping.Elapsed} with a stream open");
        await Assert.ThrowsAnyAsync<ClusterException>(async () =>
        {
            while (await watch.MoveNextAsync().AsTask().WaitAsync(Timeout))
            {
            }
        });
    }

    [Fact]
    public async Task CancellingACallInterruptsTheHandler()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var counter = cluster.Client.GetEntity<CounterEntity>("cancel-me");
        using var cts = new CancellationTokenSource();

        var call = counter.AskAsync(new Hold("never"), cts.Token);
        await cluster.Probe.Started.WaitAsync(Timeout);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal("never", await cluster.Probe.Cancelled.Task.WaitAsync(Timeout));
        Assert.Equal(1, await counter.AskAsync(new Increment(1)));   // the entity is free again
    }

    [Fact]
    public async Task TellReturnsOnceEnqueuedAndIsHandledInOrder()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var counter = cluster.Client.GetEntity<CounterEntity>("told");

        await counter.AskAsync(new Increment(5));
        await counter.TellAsync(new Reset());

        Assert.Equal(1, await counter.AskAsync(new Increment(1)));
    }

    [Fact]
    public async Task HandlerExceptionsReachTheCallerAsTypedErrors()
    {
        await using var cluster = await TestCluster.StartAsync(2);

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => cluster.Client.GetEntity<CounterEntity>("oops").AskAsync(new Fail("boom")));

        Assert.Equal(typeof(InvalidOperationException).FullName, error.ErrorType);
        Assert.Contains("boom", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SimulatedRemoteSerializationCatchesUnserializableMessagesInOneProcess()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var counter = cluster.Runners[0].GetEntity<CounterEntity>("local");

        await Assert.ThrowsAsync<MalformedMessageException>(() => counter.AskAsync(new Unserializable(new MemoryStream())));
    }

    [Fact]
    public async Task WithoutSimulationLocalMessagesAreNotSerialized()
    {
        await using var cluster = await TestCluster.StartAsync(1, options => options.SimulateRemoteSerialization = false);
        var counter = cluster.Runners[0].GetEntity<CounterEntity>("local");

        Assert.Equal(0, await counter.AskAsync(new Unserializable(new MemoryStream())));
    }

    [Fact]
    public async Task UnknownEntityTypeIsATypedErrorOnceTheRegistrationTimeoutPassed()
    {
        await using var cluster = await TestCluster.StartAsync(2, options => options.EntityRegistrationTimeout = TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(() => cluster.Client.GetEntity<NotRegistered>("x").AskAsync(new IncrementUnregistered(1)));
        Assert.Equal(EntityNames.Of<NotRegistered>.Name, error.EntityType);
    }

    private sealed class NotRegistered;

    /// <summary>The counter's <c>Increment</c> on the wire, addressed to an entity type no runner hosts.</summary>
    [RpcName("Increment")]
    public sealed record IncrementUnregistered(int By) : IEntityRequest<NotRegistered, int>;
}
