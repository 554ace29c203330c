using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Bench.SocketRunner;

/// <summary>The benchmark's entity: a counter, the same logic as Orleans' <c>CounterGrain</c>.</summary>
[EntityName("BenchCounter")]
public sealed class BenchCounter
{
    private int _value;

    public ValueTask<int> Add(int by) => ValueTask.FromResult(_value += by);

    public static void Register(ClusterBuilder cluster) => cluster.AddEntity<BenchCounter>(_ => new BenchCounter(), entity => entity
        .On<Increment, int>((counter, message) => counter.Add(message.By))
        .On<PersistedIncrement, int>((counter, message) => counter.Add(message.By)));
}

/// <summary>Adds to the counter and returns the new value.</summary>
public sealed record Increment(int By) : IEntityRequest<BenchCounter, int>;

/// <summary>The same, saved in MessageStorage before delivery.</summary>
[Persisted]
public sealed record PersistedIncrement(int By) : IEntityRequest<BenchCounter, int>;
