using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Runner.Entities;

/// <summary>The runner side of <see cref="Counter"/>: one instance per counter id, alive on one runner at a time.</summary>
[EntityName("Counter")]
public sealed class CounterEntity(EntityContext context)
{
    private long _value;

    private string Runner => context.Runner?.ToString() ?? "unknown";

    public ValueTask<CounterValue> Increment(Increment message) => ValueTask.FromResult(new CounterValue(_value += message.By, Runner));

    public ValueTask<CounterValue> Get() => ValueTask.FromResult(new CounterValue(_value, Runner));

    /// <summary>The one place that binds the entity's messages to its handlers.</summary>
    public static void Register(ClusterBuilder cluster) => cluster.AddEntity(context => new CounterEntity(context), entity => entity
        .On<Increment, CounterValue>((counter, message, _, _) => counter.Increment(message))
        .On<GetValue, CounterValue>((counter, _, _, _) => counter.Get()));
}
