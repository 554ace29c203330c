using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests;

/// <summary>Persisted messages (Effect's durable RPCs) in one process: in-memory transport and storage.</summary>
public sealed class PersistedMessagingTests
{
    private readonly RecordingMessageStorage _messages = new(new InMemoryMessageStorage());

    private Task<TestCluster> StartAsync(int runners = 2, Action<SocketRunnerAspire.Cluster.Entities.EntityDefinition<CounterEntity, CounterEntity>>? entity = null) =>
        TestCluster.StartAsync(runners, entity: entity, messages: _messages);

    [Fact]
    public async Task APersistedRequestIsSavedBeforeDeliveryAndItsReplyStored()
    {
        await using var cluster = await StartAsync();

        Assert.Equal(5, await cluster.Client.GetEntity<CounterEntity>("acct").AskAsync(new Deposit("d-1", 5)));

        var request = Assert.Single(_messages.Requests);
        Assert.Equal("d-1", request.PrimaryKey);
        var reply = Assert.Single(_messages.Replies);
        Assert.Equal((request.Id, true, false), (reply.RequestId, reply.IsFinal, reply.IsFailure));
        Assert.Equal(1, cluster.Probe.Runs["d-1"]);
    }

    [Fact]
    public async Task ADuplicatePrimaryKeyRunsTheHandlerOnceAndEveryCallerGetsTheSameReply()
    {
        await using var cluster = await StartAsync();
        var account = cluster.Client.GetEntity<CounterEntity>("acct");
        var fromRunner = cluster.Runners[0].GetEntity<CounterEntity>("acct");

        var replies = await Task.WhenAll(
            account.AskAsync(new Deposit("once", 7)),
            account.AskAsync(new Deposit("once", 7)),
            fromRunner.AskAsync(new Deposit("once", 7)));
        var later = await account.AskAsync(new Deposit("once", 7));

        Assert.All(replies.Append(later), r => Assert.Equal(7, r));
        Assert.Equal(1, cluster.Probe.Runs["once"]);
        Assert.Equal(10, await account.AskAsync(new Deposit("twice", 3)));
    }

    [Fact]
    public async Task APersistedTellReturnsOnceStoredAndIsHandled()
    {
        await using var cluster = await StartAsync();

        await cluster.Client.GetEntity<CounterEntity>("log").TellAsync(new Note("r-1"));

        Assert.Single(_messages.Requests);
        await Eventually.True(() => cluster.Probe.Runs.ContainsKey("r-1"), TimeSpan.FromSeconds(10), "the stored tell is handled");
        await Eventually.True(() => _messages.Replies.Any(r => r.IsFinal), TimeSpan.FromSeconds(5), "its completion is stored");
        Assert.Equal(1, cluster.Probe.Runs["r-1"]);
    }

    [Fact]
    public async Task DeliverAtHoldsAMessageBackUntilItsTime()
    {
        await using var cluster = await StartAsync();
        var deliverAt = DateTimeOffset.UtcNow.AddSeconds(1.5);

        await cluster.Client.GetEntity<CounterEntity>("later").TellAsync(new RecordAt("at", deliverAt));

        await Eventually.True(() => cluster.Probe.HandledAt.ContainsKey("at"), TimeSpan.FromSeconds(10), "the delayed message is handled");
        Assert.True(cluster.Probe.HandledAt["at"] >= deliverAt, $"handled at {cluster.Probe.HandledAt["at"]:O}, before {deliverAt:O}");
    }

    [Fact]
    public async Task APersistedStreamSavesEachChunkOnlyAfterThePreviousOneWasAcknowledged()
    {
        await using var cluster = await StartAsync(runners: 1);
        var counter = cluster.Client.GetEntity<CounterEntity>("stream");

        await using var items = counter.StreamAsync(new PersistedCountTo(20)).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync());
        Assert.Equal(1, items.Current);

        // The consumer pauses: the owner may run ahead by what the sender buffered, not further.
        await Task.Delay(400);
        Assert.InRange(_messages.Replies.Count, 1, 3);

        var rest = new List<int>();
        while (await items.MoveNextAsync())
        {
            rest.Add(items.Current);
        }

        Assert.Equal(Enumerable.Range(2, 19), rest);
        var replies = _messages.Replies.ToArray();
        Assert.Equal(Enumerable.Range(0, 20), replies.Where(r => !r.IsFinal).Select(r => r.Sequence));
        Assert.True(replies[^1].IsFinal);
        Assert.Equal(Enumerable.Range(0, 20), _messages.Envelopes.OfType<PersistedEnvelope.AckChunk>().Select(a => a.Sequence).Order());
    }

    [Fact]
    public async Task APersistedStreamFromTheOwningRunnerIsAcknowledgedLocally()
    {
        await using var cluster = await StartAsync(runners: 1);

        var items = new List<int>();
        await foreach (var item in cluster.Runners[0].GetEntity<CounterEntity>("local").StreamAsync(new PersistedCountTo(5)))
        {
            items.Add(item);
        }

        Assert.Equal([1, 2, 3, 4, 5], items);
        Assert.Equal(5, _messages.Envelopes.OfType<PersistedEnvelope.AckChunk>().Count());
    }

    [Fact]
    public async Task CancellingAnInterruptiblePersistedRequestInterruptsTheHandlerAndStoresThat()
    {
        await using var cluster = await StartAsync();
        using var cts = new CancellationTokenSource();

        var held = cluster.Client.GetEntity<CounterEntity>("held").AskAsync(new PersistedHold("p"), cts.Token);
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
        Assert.Equal("p", await cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(_messages.Envelopes.OfType<PersistedEnvelope.Interrupt>());
        await Eventually.True(() => _messages.Replies.Any(r => r.IsFinal && r.IsFailure), TimeSpan.FromSeconds(5), "the interrupted outcome is stored");
    }

    [Fact]
    public async Task CancellingAnUninterruptiblePersistedRequestOnlyStopsWaiting()
    {
        await using var cluster = await StartAsync();
        using var cts = new CancellationTokenSource();

        var held = cluster.Client.GetEntity<CounterEntity>("held").AskAsync(new UninterruptibleHold("u"), cts.Token);
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);

        cluster.Probe.Open("u");
        await Eventually.True(() => _messages.Replies.Any(r => r.IsFinal && !r.IsFailure), TimeSpan.FromSeconds(5), "the handler finished and its reply is stored");
        Assert.False(cluster.Probe.Cancelled.Task.IsCompleted);
        Assert.Empty(_messages.Envelopes);
    }

    [Fact]
    public async Task PersistedMessagesWaitForRoomInsteadOfFailingWhenTheMailboxIsFull()
    {
        await using var cluster = await StartAsync(entity: e => e.WithMailboxCapacity(1));
        var counter = cluster.Client.GetEntity<CounterEntity>("full");
        var held = counter.AskAsync(new Hold("gate"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        await Assert.ThrowsAsync<MailboxFullException>(() => counter.AskAsync(new Increment(1)));
        var deposit = counter.AskAsync(new Deposit("waits", 2));
        await Task.Delay(200);
        Assert.False(deposit.IsCompleted);

        cluster.Probe.Open("gate");
        await held;
        Assert.Equal(2, await deposit.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AnInterruptReachesAPersistedRequestStillWaitingForMailboxRoom()
    {
        await using var cluster = await StartAsync(entity: e => e.WithMailboxCapacity(1));
        var counter = cluster.Client.GetEntity<CounterEntity>("full-interrupt");
        var held = counter.AskAsync(new Hold("gate"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        using var cts = new CancellationTokenSource();

        var future = counter.AskAsync(new PersistedHold("future"), cts.Token);
        await Eventually.True(() => !_messages.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the request is stored");
        await Task.Delay(200);   // reaches the owner and waits for room (the outcome is the same if it has not yet)
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => future);
        var request = Assert.Single(_messages.Requests);

        cluster.Probe.Open("gate");
        await held;

        await Eventually.True(() => _messages.Replies.Any(r => r.RequestId == request.Id), TimeSpan.FromSeconds(10), "the interrupted outcome is stored");
        var reply = Assert.Single(_messages.Replies, r => r.RequestId == request.Id);
        Assert.True(reply.IsFinal && reply.IsFailure);
        Assert.IsType<OperationCanceledException>(ReplyFailure.Decode(reply.Payload));
        Assert.Single(_messages.Envelopes.OfType<PersistedEnvelope.Interrupt>());
        Assert.Equal(1, await counter.AskAsync(new Increment(1)));   // the mailbox is free again
    }

    [Fact]
    public async Task APersistedStreamQueuedBehindAFullMailboxCompletesWithAllItsChunks()
    {
        await using var cluster = await StartAsync(entity: e => e.WithMailboxCapacity(1));
        var counter = cluster.Client.GetEntity<CounterEntity>("full-stream");
        var held = counter.AskAsync(new Hold("gate"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        var items = Task.Run(async () =>
        {
            var received = new List<int>();
            await foreach (var item in counter.StreamAsync(new PersistedCountTo(3)))
            {
                received.Add(item);
            }

            return received;
        });
        await Eventually.True(() => !_messages.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the stream request is stored");
        Assert.False(items.IsCompleted);

        cluster.Probe.Open("gate");
        await held;

        Assert.Equal([1, 2, 3], await items.WaitAsync(TimeSpan.FromSeconds(15)));
        var request = Assert.Single(_messages.Requests);
        Assert.Equal(4, _messages.Replies.Count(r => r.RequestId == request.Id));   // 3 chunks and the end
        Assert.Equal(3, _messages.Envelopes.OfType<PersistedEnvelope.AckChunk>().Count());
    }

    [Fact]
    public async Task WhileStorageIsDownPersistedSendsFailTypedAndVolatileTrafficFlows()
    {
        await using var cluster = await StartAsync();
        var counter = cluster.Client.GetEntity<CounterEntity>("outage");

        _messages.Down = true;
        var error = await Assert.ThrowsAsync<PersistenceException>(() => counter.AskAsync(new Deposit("during", 1)));
        Assert.Contains("down", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PersistenceException>(() => counter.TellAsync(new Note("during-tell")));
        Assert.Equal(1, await counter.AskAsync(new Increment(1)));

        _messages.Down = false;
        Assert.Equal(4, await counter.AskAsync(new Deposit("after", 3)));
        Assert.False(cluster.Probe.Runs.ContainsKey("during"));
    }

    [Fact]
    public async Task AStoredRequestThatCannotBeDecodedIsAnsweredWithMalformedMessageAndKept()
    {
        await using var cluster = await StartAsync(runners: 1);
        var address = cluster.Client.GetEntity<CounterEntity>("bad").Address;
        var request = new PersistedRequest(cluster.Client.NewSnowflakeId(), address, MessageTraits.Of(typeof(Deposit)).Tag,
            RpcKind.Request, new byte[] { 0xc1, 0xc1, 0xc1 });
        await _messages.SaveRequestAsync(request, default);

        await Eventually.True(() => _messages.Replies.Any(r => r.RequestId == request.Id), TimeSpan.FromSeconds(10), "the undecodable request is answered");

        var reply = Assert.Single(_messages.Replies);
        Assert.True(reply.IsFinal && reply.IsFailure);
        Assert.IsType<MalformedMessageException>(ReplyFailure.Decode(reply.Payload));
        Assert.Single(await _messages.RepliesForAsync([request.Id], default));   // the row stays, complete
        Assert.Equal(1, await cluster.Client.GetEntity<CounterEntity>("bad").AskAsync(new Increment(1)));   // the entity is unharmed
    }

    [Fact]
    public async Task SendingAPersistedMessageWithoutMessageStorageIsATypedError()
    {
        var options = new ShardingOptions { SendTimeout = TimeSpan.FromSeconds(1) };
        await using var client = new Sharding(options, new InMemoryRunnerStorage(options.ShardLockExpiration), new InMemoryRunnerTransport(), []);

        var error = await Assert.ThrowsAsync<PersistenceException>(() => client.GetEntity<CounterEntity>("x").AskAsync(new Deposit("k", 1)));

        Assert.Contains("require a MessageStorage", error.Message, StringComparison.Ordinal);
    }
}
