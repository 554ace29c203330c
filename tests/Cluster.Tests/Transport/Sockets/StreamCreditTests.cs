using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Credit on volatile streams over real sockets: a runner sends a stream's caller at most
/// <see cref="RunnerSocketOptions.StreamWindow"/> chunks ahead of what it consumed, and takes no item from the entity's
/// stream without credit, so a consumer that stops reading holds the producing entity back.
/// </summary>
public sealed class StreamCreditTests
{
    private const int Window = 8;

    // The entity writes its items into a bounded channel of this many (TaskEntityWork).
    private const int EntityChannel = 64;

    // The item the producer is blocked writing, and one the runner may hold between taking it and sending it.
    private const int Slack = 2;

    [Fact]
    public async Task AConsumerThatPausesHoldsTheProducerBackAndThenGetsEveryItemInOrder()
    {
        var probe = new ProducerProbe();
        await using var cluster = await StartAsync(probe);
        const int items = 5_000;

        await using var stream = cluster.Client.GetEntity<Producer>("fast").StreamAsync(new Produce(items)).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(1, stream.Current);

        // The window in flight and the entity's channel fill up; then the producer waits.
        await Eventually.True(() => probe.Produced >= Window + EntityChannel, TimeSpan.FromSeconds(10),
            () => $"the producer fills the window and its channel ({probe.Produced} produced)");
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // an observation window: nothing may be produced in it
        Assert.InRange(probe.Produced, Window + EntityChannel, Window + EntityChannel + Slack);

        var received = new List<int> { stream.Current };
        while (await stream.MoveNextAsync())
        {
            received.Add(stream.Current);
        }

        Assert.Equal(Enumerable.Range(1, items), received);
    }

    [Fact]
    public async Task AStreamLongerThanTheWindowArrivesWhole()
    {
        var probe = new ProducerProbe();
        await using var cluster = await StartAsync(probe);

        var received = new List<int>();
        await foreach (var item in cluster.Client.GetEntity<Producer>("whole").StreamAsync(new Produce(Window * 10 + 3)))
        {
            received.Add(item);
        }

        Assert.Equal(Enumerable.Range(1, Window * 10 + 3), received);
    }

    [Fact]
    public async Task AConsumerThatStopsEarlyInterruptsTheHeldProducer()
    {
        var probe = new ProducerProbe();
        await using var cluster = await StartAsync(probe);

        await using (var stream = cluster.Client.GetEntity<Producer>("early").StreamAsync(new Produce(1_000_000)).GetAsyncEnumerator())
        {
            Assert.True(await stream.MoveNextAsync());
            await Eventually.True(() => probe.Produced >= Window + EntityChannel, TimeSpan.FromSeconds(10), "the producer is held back");
        }

        await probe.Interrupted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(probe.Produced < 1_000_000);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(RunnerSocketOptions.MaxStreamWindow + 1)]
    public void AStreamWindowOutsideOneTo255IsRejected(int window)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RunnerSocketOptions { StreamWindow = window });
    }

    internal static Task<TestCluster> StartAsync(ProducerProbe probe, int window = Window) => TestCluster.StartAsync(1,
        transports: () => new SocketRunnerTransport(new RunnerSocketOptions { StreamWindow = window }),
        addresses: _ => FreePort.Loopback(),
        configure: builder => builder.AddProducer(probe));
}
