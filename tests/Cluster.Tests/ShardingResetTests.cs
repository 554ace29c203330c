using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests;

/// <summary><see cref="Sharding.ResetAsync"/> (Effect's <c>Sharding.reset</c>): a completed persisted request runs again.</summary>
public sealed class ShardingResetTests
{
    private readonly RecordingMessageStorage _messages = new(new InMemoryMessageStorage());

    [Fact]
    public async Task AResetRequestRunsAgainAndItsNewReplyIsStored()
    {
        await using var cluster = await TestCluster.StartAsync(1, messages: _messages);
        Assert.Equal(5, await cluster.Client.GetEntity<CounterEntity>("acct").AskAsync(new Deposit("again", 5)));
        var request = Assert.Single(_messages.Requests);

        Assert.True(await cluster.Client.ResetAsync(request.Id));

        await Eventually.True(() => cluster.Probe.Runs.GetValueOrDefault("again") == 2, TimeSpan.FromSeconds(10), "the reset request ran again");
        await Eventually.True(() => _messages.Replies.Count(r => r.RequestId == request.Id && r.IsFinal) == 2, TimeSpan.FromSeconds(5), "its second reply is stored");
        Assert.Equal(10, await cluster.Client.GetEntity<CounterEntity>("acct").AskAsync(new Increment(0)));
    }

    [Fact]
    public async Task AResetFailsWhenStorageFails()
    {
        await using var cluster = await TestCluster.StartAsync(1, messages: _messages);
        _messages.Down = true;

        Assert.False(await cluster.Client.ResetAsync(42));
    }

    [Fact]
    public async Task AResetFailsWithoutMessageStorage()
    {
        var options = new ShardingOptions();
        await using var client = new Sharding(options, new InMemoryRunnerStorage(options.ShardLockExpiration), new InMemoryRunnerTransport(), []);

        Assert.False(await client.ResetAsync(42));
    }
}
