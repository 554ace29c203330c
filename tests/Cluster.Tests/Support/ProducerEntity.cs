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

    /// <summary>Completed when a producer stopped before its end because its token was cancelled.</summary>
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
        // Observed as the enumeration ends, not by a token registration: the runtime may dispose this iterator (its
        // write of an item was cancelled) before the cancelling thread reaches a registration made here, which then never runs.
        var finished = false;
        try
        {
            for (var i = 1; i <= message.N; i++)
            {
                probe.Yielding(i);
                yield return i;
            }

            finished = true;
        }
        finally
        {
            if (!finished && cancellationToken.IsCancellationRequested)
            {
                probe.Interrupted.TrySetResult();
            }
        }
    }
}

internal static class ProducerRegistration
{
    public static ClusterBuilder AddProducer(this ClusterBuilder builder, ProducerProbe probe) =>
        builder.AddEntity<Producer>(_ => new Producer(probe), entity => entity.OnStream<Produce, int>((e, m, ct) => e.Produce(m, ct)));
}
