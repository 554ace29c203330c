using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// A node that stops while messages it sent still run on another runner, over sockets (Effect's Sharding tests
/// "interrupts are sent for volatile messages on shutdown" and "interrupts aren't sent for durable messages on
/// shutdown"): volatile requests and streams are interrupted, persisted ones run on.
/// </summary>
public sealed class SenderShutdownTests
{
    private readonly RecordingMessageStorage _messages = new(new InMemoryMessageStorage());
    private readonly ProducerProbe _producer = new();
    private readonly CapturingLoggerProvider _logs = new();

    [Fact]
    public async Task AVolatileRequestStillRunningIsInterruptedWhenItsSenderStops()
    {
        await using var cluster = await StartAsync();
        var held = cluster.Client.GetEntity<CounterEntity>("held").AskAsync(new Hold("volatile"));
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        await cluster.Client.DisposeAsync();

        Assert.Equal("volatile", await cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AVolatileStreamStillRunningIsInterruptedWhenItsSenderStops()
    {
        await using var cluster = await StartAsync();
        var stream = cluster.Client.GetEntity<Producer>("streaming").StreamAsync(new Produce(1_000_000)).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());

        await cluster.Client.DisposeAsync();

        await Eventually.True(() => _producer.Interrupted.Task.IsCompleted, TimeSpan.FromSeconds(10),
            () => $"the producer is interrupted; transport log:\n{string.Join('\n', _logs.Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"))}");
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (await stream.MoveNextAsync())
            {
            }
        });
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task APersistedRequestStillRunningIsNotInterruptedWhenItsSenderStops()
    {
        await using var cluster = await StartAsync();
        // Its sender stops waiting only at its reply timeout: observed, so its failure does not surface in other tests.
        _ = cluster.Client.GetEntity<CounterEntity>("held").AskAsync(new PersistedHold("persisted"))
            .ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        await cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));

        await cluster.Client.DisposeAsync();

        cluster.Probe.Open("persisted");
        await Eventually.True(() => _messages.Replies.Any(r => r.IsFinal && !r.IsFailure), TimeSpan.FromSeconds(10), "the handler finished and its reply is stored");
        Assert.False(cluster.Probe.Cancelled.Task.IsCompleted);
        Assert.Empty(_messages.Envelopes.OfType<PersistedEnvelope.Interrupt>());
    }

    private Task<TestCluster> StartAsync() => TestCluster.StartAsync(1,
        transports: () => new SocketRunnerTransport(null, _logs.CreateFactory()),
        addresses: _ => FreePort.Loopback(),
        messages: _messages,
        configure: builder => builder.AddProducer(_producer));
}
