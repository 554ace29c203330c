using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

/// <summary>Keep-alive as a stored message (Effect §6.3): Cluster/Entities/EntityContext.cs, Cluster/Persistence/KeepAliveMessages.cs.</summary>
public sealed class DurableKeepAliveTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly RecordingMessageStorage _messages = new(new InMemoryMessageStorage());

    private Task<TestCluster> StartAsync() =>
        TestCluster.StartAsync(1, entity: e => e.WithMaxIdleTime(TimeSpan.FromMilliseconds(200)), messages: _messages);

    [Fact]
    public async Task AKeptAliveEntityIsRecreatedOnTheNextRunnerWithoutAnyUserMessageAndPassivatesOnceReleased()
    {
        await using var cluster = await StartAsync();
        var counter = cluster.Client.GetEntity<CounterEntity>("durable");
        Assert.True(await counter.AskAsync(new SetKeepAlive(true)));
        var keepAlive = Assert.Single(_messages.Requests, r => r.Tag == KeepAliveMessages.Tag);
        Assert.Equal(counter.Address, keepAlive.Address);

        await cluster.StopRunnerAsync(cluster.Runners[0]);
        var next = await cluster.AddRunnerAsync();
        await cluster.WaitUntilStableAsync();

        await Eventually.True(() => next.IsActive(counter.Address), Timeout, "the stored keep-alive re-creates the entity on the new runner");
        Assert.Equal(2, cluster.Probe.Created);
        await AssertNotPassivatedAsync(cluster, next, counter.Address);
        Assert.DoesNotContain(_messages.Replies, r => r.RequestId == keepAlive.Id);

        Assert.False(await counter.AskAsync(new SetKeepAlive(false)));
        Assert.Contains(_messages.Replies, r => r.RequestId == keepAlive.Id && r.IsFinal && !r.IsFailure);   // saved before SetKeepAliveAsync returned
        await Eventually.True(() => !next.IsActive(counter.Address), Timeout, "the entity is passivated after keep-alive ends");
    }

    [Fact]
    public async Task EnablingTwiceStoresOneKeepAliveMessageAndEnablingAgainLaterRerunsIt()
    {
        await using var cluster = await StartAsync();
        var counter = cluster.Client.GetEntity<CounterEntity>("twice");

        Assert.True(await counter.AskAsync(new SetKeepAlive(true)));
        Assert.True(await counter.AskAsync(new SetKeepAlive(true)));
        var keepAlive = Assert.Single(_messages.Requests, r => r.Tag == KeepAliveMessages.Tag);
        Assert.Equal(KeepAliveMessages.PrimaryKey, keepAlive.PrimaryKey);

        Assert.False(await counter.AskAsync(new SetKeepAlive(false)));
        await Eventually.True(() => _messages.Replies.Count(r => r.RequestId == keepAlive.Id && r.IsFinal) == 1, Timeout, "the released keep-alive is answered");

        Assert.True(await counter.AskAsync(new SetKeepAlive(true)));
        Assert.All(_messages.Requests.Where(r => r.Tag == KeepAliveMessages.Tag), r => Assert.Equal(keepAlive.StorageKey, r.StorageKey));
        await AssertNotPassivatedAsync(cluster, cluster.Runners[0], counter.Address);
        Assert.False(await counter.AskAsync(new SetKeepAlive(false)));
        await Eventually.True(() => _messages.Replies.Count(r => r.RequestId == keepAlive.Id && r.IsFinal) == 2, Timeout,
            "the one stored keep-alive message ran again and was answered again");
        await Eventually.True(() => !cluster.Runners[0].IsActive(counter.Address), Timeout, "the entity is passivated after keep-alive ends");
    }

    [Fact]
    public async Task WithoutMessageStorageKeepAliveIsAnInMemoryFlagOfTheInstance()
    {
        var probe = new Probe();
        var definition = new EntityDefinition<CounterEntity, CounterEntity>(context => new CounterEntity(context, probe));
        CounterEntity.Configure(definition);
        await using var manager = new EntityManager(definition, runner: null, NoServices.Instance, 0, TimeSpan.FromMilliseconds(100),
            Timeout, NullLogger.Instance, TimeProvider.System);   // no KeepAliveMessages: a runner without MessageStorage
        var kept = new EntityAddress(definition.Name, "kept", new ShardId(ShardId.DefaultGroup, 1));
        var witness = kept with { EntityId = "witness" };

        Assert.True(await AskAsync<SetKeepAlive, bool>(manager, kept, new SetKeepAlive(true)));
        await AskAsync<Increment, int>(manager, witness, new Increment(1));
        await Eventually.True(() => !manager.IsActive(witness), Timeout, "the idle witness is passivated");
        Assert.True(manager.IsActive(kept));

        Assert.False(await AskAsync<SetKeepAlive, bool>(manager, kept, new SetKeepAlive(false)));
        await Eventually.True(() => !manager.IsActive(kept), Timeout, "the entity is passivated after keep-alive ends");
    }

    private static async Task<TReply> AskAsync<TRequest, TReply>(EntityManager manager, EntityAddress address, TRequest request)
    {
        Assert.True(manager.Registration.TryGetRpc(EntityNames.RpcTag(typeof(TRequest)), out var rpc));
        var work = new TaskEntityWork(rpc, request!, default, CancellationToken.None);
        manager.Deliver(address, work);
        return (TReply)(await work.Reply.Task.WaitAsync(Timeout))!;
    }

    /// <summary>A witness of the same type, idle from now: once it is passivated, a reaper pass found the kept-alive entity idle for longer than the max idle time too.</summary>
    private static async Task AssertNotPassivatedAsync(TestCluster cluster, Sharding runner, EntityAddress address)
    {
        var witness = cluster.Client.GetEntity<CounterEntity>($"witness-{Guid.NewGuid():N}");
        await witness.AskAsync(new Increment(1));
        await Eventually.True(() => !runner.IsActive(witness.Address), Timeout, "the idle witness is passivated");
        Assert.True(runner.IsActive(address), "the kept-alive entity is not passivated");
    }

    private sealed class NoServices : IServiceProvider
    {
        public static readonly NoServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
