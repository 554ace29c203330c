using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>What <see cref="Producer"/> instances did.</summary>
public sealed class ProducerProbe
{
    private int _produced;

    /// <summary>The last item a producer yielded.</summary>
    public int Produced => Volatile.Read(ref _produced);

    public TaskCompletionSource Interrupted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Yielding(int item) => Volatile.Write(ref _produced, item);
}

public sealed record Produce(int N) : IEntityStreamRequest<Producer, int>;

/// <summary>Yields 1..N as fast as it is taken.</summary>
[EntityName("Producer")]
public sealed class Producer(ProducerProbe probe)
{
    public async IAsyncEnumerable<int> Produce(Produce message, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var interrupted = cancellationToken.Register(() => probe.Interrupted.TrySetResult());
        for (var i = 1; i <= message.N; i++)
        {
            probe.Yielding(i);
            yield return i;
        }
    }
}

internal static class ProducerRegistration
{
    public static ClusterBuilder AddProducer(this ClusterBuilder builder, ProducerProbe probe) =>
        builder.AddEntity<Producer>(_ => new Producer(probe), entity => entity.OnStream<Produce, int>((e, m, ct) => e.Produce(m, ct)));
}
