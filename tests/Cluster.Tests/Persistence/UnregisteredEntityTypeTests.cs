using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Persistence;

/// <summary>
/// A rolling deploy that adds an entity type: messages reaching an owner of the older version (which does not host
/// the type) wait for an owner that does, up to the registration timeout, and persisted ones stay stored even after it.
/// </summary>
public sealed class UnregisteredEntityTypeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly RecordingMessageStorage _messages = new(new InMemoryMessageStorage());

    private Task<TestCluster> StartOldVersionAsync(TimeSpan registrationTimeout) =>
        TestCluster.StartAsync(1, options => options.EntityRegistrationTimeout = registrationTimeout, messages: _messages, runnersHostCounter: false);

    /// <summary>Replaces the cluster's runners of the old version by one that hosts the counter.</summary>
    private static async Task UpgradeAsync(TestCluster cluster)
    {
        var old = cluster.Runners.ToArray();
        await cluster.AddRunnerAsync(hostsCounter: true);
        foreach (var runner in old)
        {
            await cluster.StopRunnerAsync(runner);
        }

        await cluster.WaitUntilStableAsync();
    }

    private Task OldOwnerSawTheRequestAsync(TestCluster cluster) => Eventually.True(
        () => cluster.Logs.Entries.Any(e => e.Message.Contains("does not host it", StringComparison.Ordinal)),
        Timeout, "the old owner read the request and kept it stored");

    [Fact]
    public async Task APersistedRequestWaitsForAnOwnerThatHostsItsTypeAndRunsOnce()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromSeconds(30));

        var deposit = cluster.Client.GetEntity<CounterEntity>("acct").AskAsync(new Deposit("rolling", 5));
        await OldOwnerSawTheRequestAsync(cluster);
        Assert.False(deposit.IsCompleted);
        Assert.Empty(_messages.Replies);

        await UpgradeAsync(cluster);

        Assert.Equal(5, await deposit.WaitAsync(Timeout));
        Assert.Equal(1, cluster.Probe.Runs["rolling"]);
        var reply = Assert.Single(_messages.Replies);
        Assert.False(reply.IsFailure);
    }

    [Fact]
    public async Task AfterTheRegistrationTimeoutTheCallerGetsATypedErrorAndTheRequestStaysStored()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromMilliseconds(500));

        var error = await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(
            () => cluster.Client.GetEntity<CounterEntity>("acct").AskAsync(new Deposit("kept", 3)).WaitAsync(Timeout));

        Assert.Equal(EntityNames.Of<CounterEntity>.Name, error.EntityType);
        Assert.Empty(_messages.Replies);
        var request = Assert.Single(_messages.Requests);
        Assert.Single(await _messages.UnprocessedMessagesByIdAsync([request.Id], default));

        // Loses nothing: the first owner that hosts the type runs it.
        await UpgradeAsync(cluster);
        await Eventually.True(() => cluster.Probe.Runs.ContainsKey("kept"), Timeout, "the kept request ran on the new owner");
        await Eventually.True(() => _messages.Replies.Any(r => r.RequestId == request.Id && r.IsFinal && !r.IsFailure), Timeout, "its reply is saved");
        Assert.Equal(1, cluster.Probe.Runs["kept"]);
    }

    [Fact]
    public async Task APersistedRequestFromTheOwnerThatLacksTheTypeFailsTypedAfterTheTimeout()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(
            () => cluster.Runners[0].GetEntity<CounterEntity>("acct").AskAsync(new Deposit("local", 3)).WaitAsync(Timeout));

        Assert.Empty(_messages.Replies);
        Assert.Single(await _messages.UnprocessedMessagesByIdAsync([Assert.Single(_messages.Requests).Id], default));
    }

    [Fact]
    public async Task APersistedStreamWaitsForAnOwnerThatHostsItsType()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromSeconds(30));

        var items = Task.Run(async () =>
        {
            var received = new List<int>();
            await foreach (var item in cluster.Client.GetEntity<CounterEntity>("stream").StreamAsync(new PersistedCountTo(3)))
            {
                received.Add(item);
            }

            return received;
        });
        await OldOwnerSawTheRequestAsync(cluster);
        Assert.False(items.IsCompleted);

        await UpgradeAsync(cluster);

        Assert.Equal([1, 2, 3], await items.WaitAsync(Timeout));
        Assert.DoesNotContain(_messages.Replies, r => r.IsFailure);
    }

    [Fact]
    public async Task AVolatileRequestIsRetriedUntilAnOwnerHostsItsType()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromSeconds(30));

        var increment = cluster.Client.GetEntity<CounterEntity>("volatile").AskAsync(new Increment(2));
        await UpgradeAsync(cluster);

        Assert.Equal(2, await increment.WaitAsync(Timeout));
    }

    [Fact]
    public async Task AVolatileRequestFailsTypedAfterTheRegistrationTimeout()
    {
        await using var cluster = await StartOldVersionAsync(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(
            () => cluster.Client.GetEntity<CounterEntity>("remote").AskAsync(new Increment(1)).WaitAsync(Timeout));
        await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(
            () => cluster.Runners[0].GetEntity<CounterEntity>("local").AskAsync(new Increment(1)).WaitAsync(Timeout));
    }
}
