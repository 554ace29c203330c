using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Runner.Entities;

/// <summary>
/// The runner side of <see cref="Counter"/>: one instance per counter id, alive on one runner at a time. Its wire name
/// comes from the contract; the constructor's <see cref="EntityContext"/> (and any services) are injected.
/// </summary>
public sealed class CounterEntity(EntityContext context)
{
    private long _value;

    private string Runner => context.Runner?.ToString() ?? "unknown";

    public ValueTask<CounterValue> Increment(Increment message) => ValueTask.FromResult(new CounterValue(_value += message.By, Runner));

    public ValueTask<CounterValue> Get() => ValueTask.FromResult(new CounterValue(_value, Runner));

    /// <summary>The one place that binds the entity's messages to its handlers.</summary>
    public static void Register(ClusterBuilder cluster) => cluster.AddEntity<Counter, CounterEntity>(entity => entity
        .On<Increment, CounterValue>((counter, message) => counter.Increment(message))
        .On<GetValue, CounterValue>((counter, _) => counter.Get()));
}
