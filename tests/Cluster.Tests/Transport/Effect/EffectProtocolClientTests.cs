using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Effect;

/// <summary>
/// Nodes whose outgoing calls speak Effect's protocol (<c>Cluster:Socket:Protocol = Effect</c>), against a C# runner
/// serving it on its port: typed requests and replies, streams, failures and cancellation come through as with the
/// native protocol.
/// </summary>
public sealed class EffectProtocolClientTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private Task<TestCluster> StartAsync(int runners = 1, Action<EntityDefinition<CounterEntity, CounterEntity>>? entity = null) => TestCluster.StartAsync(runners,
        entity: entity,
        transports: () => new SocketRunnerTransport(new RunnerSocketOptions { Protocol = RunnerProtocol.Effect }, _logs.CreateFactory()),
        addresses: _ => FreePort.Loopback());

    [Fact]
    public async Task RequestsAndRepliesTravelAsJson()
    {
        var counter = _cluster.Client.GetEntity<CounterEntity>("json");

        Assert.Equal(5, await counter.AskAsync(new Increment(5)));
        Assert.Equal(7, await counter.AskAsync(new Increment(2)));
        Assert.Equal(_cluster.Runners[0].Address.ToString(), await counter.AskAsync(new WhereAmI()));
        await counter.TellAsync(new Reset());
        Assert.Equal(1, await counter.AskAsync(new Increment(1))); // the tell was queued before its send returned
    }

    [Fact]
    public async Task AStreamYieldsEveryItemInOrder()
    {
        var items = new List<int>();
        await foreach (var item in _cluster.Client.GetEntity<CounterEntity>("stream").StreamAsync(new CountTo(50)))
        {
            items.Add(item);
        }

        Assert.Equal(Enumerable.Range(1, 50), items);
    }

    [Fact]
    public async Task AHandlerFailureIsAnEntityHandlerException()
    {
        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => _cluster.Client.GetEntity<CounterEntity>("fails").AskAsync(new Fail("effect boom")));

        Assert.Equal("InvalidOperationException", error.ErrorType);
        Assert.Equal("effect boom", error.Message);
    }

    [Fact]
    public async Task AFullMailboxIsAMailboxFullException()
    {
        // A mailbox of one only here: with it, a request sent right after a tell may find the tell still queued.
        await using var cluster = await StartAsync(entity: e => e.WithMailboxCapacity(1));
        var counter = cluster.Client.GetEntity<CounterEntity>("full");
        var held = counter.AskAsync(new Hold("m"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        var error = await Assert.ThrowsAsync<MailboxFullException>(() => counter.AskAsync(new Hold("n")));
        Assert.Equal("full", error.Address.EntityId);

        cluster.Probe.Open("m");
        Assert.Equal(1, await held);
    }

    [Fact]
    public async Task CancellingACallInterruptsItsHandler()
    {
        using var cts = new CancellationTokenSource();
        var held = _cluster.Client.GetEntity<CounterEntity>("cancel").AskAsync(new Hold("effect-cancel"), cts.Token);
        await _cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
        Assert.Equal("effect-cancel", await _cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task APingCrossesTheEffectProtocol()
    {
        await using var transport = new SocketRunnerTransport(new RunnerSocketOptions { Protocol = RunnerProtocol.Effect });

        await transport.PingAsync(_cluster.Runners[0].Address!.Value, default).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Cluster.Transport.PayloadFormat.Json, transport.PayloadFormat);
    }

    [Fact]
    public async Task ManyConcurrentCallsOverOneConnectionAreEachAnswered()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            _cluster.Client.GetEntity<CounterEntity>($"many-{i}").AskAsync(new Increment(i))));

        Assert.Equal(Enumerable.Range(0, 200), answers);
    }

    [Fact]
    public async Task APersistedSendWhichTheEffectProtocolDoesNotCarryIsRunFromStorage()
    {
        // The Effect client refuses persisted RPCs (PersistenceException); the sender then relies on the stored request,
        // which the owner's storage loop runs, and polls the stored reply, as when the owner cannot be followed.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        Assert.Equal(3, await _cluster.Client.GetEntity<CounterEntity>("persisted").AskAsync(new Deposit("p", 3), cts.Token));
        Assert.Equal(1, _cluster.Probe.Runs["p"]);
    }
}
