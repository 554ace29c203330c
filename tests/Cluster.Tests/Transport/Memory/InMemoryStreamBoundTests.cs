using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Memory;

/// <summary>
/// Streams without a socket are bounded too: the in-memory transport and the local path take an item only when the
/// consumer asks, so a paused consumer holds the producer back at the entity's channel.
/// </summary>
public sealed class InMemoryStreamBoundTests
{
    // The entity writes its items into a bounded channel of this many (TaskEntityWork).
    private const int EntityChannel = 64;

    // The item the producer is blocked writing, and the one the consumer holds.
    private const int Slack = 2;

    [Theory]
    [InlineData("in-memory transport")]
    [InlineData("local")]
    public async Task APausedConsumerHoldsTheProducerBackAtTheEntityChannel(string path)
    {
        var probe = new ProducerProbe();
        await using var cluster = await TestCluster.StartAsync(1, configure: builder => builder.AddProducer(probe));
        var sender = path == "local" ? cluster.Runners[0] : cluster.Client;
        const int items = 2_000;

        await using var stream = sender.GetEntity<Producer>("p").StreamAsync(new Produce(items)).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        await Eventually.True(() => probe.Produced >= EntityChannel, TimeSpan.FromSeconds(10),
            () => $"the producer fills its channel ({probe.Produced} produced)");
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // an observation window: nothing may be produced in it
        Assert.InRange(probe.Produced, EntityChannel, EntityChannel + Slack);

        var received = new List<int> { stream.Current };
        while (await stream.MoveNextAsync())
        {
            received.Add(stream.Current);
        }

        Assert.Equal(Enumerable.Range(1, items), received);
    }
}
