using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Contracts;

/// <summary>
/// The sample counter entity as senders see it: its wire name and messages. Runners implement it
/// (Runner/Entities/CounterEntity.cs); client-only apps address it with <c>sharding.GetEntity&lt;Counter&gt;(id)</c>.
/// </summary>
[EntityName("Counter")]
public sealed class Counter;

/// <summary>Adds <paramref name="By"/> and replies with the new value and the runner that holds the counter.</summary>
public sealed record Increment(int By) : IEntityRequest<CounterValue>;

/// <summary>Reads the counter.</summary>
public sealed record GetValue : IEntityRequest<CounterValue>;

/// <summary>A counter's value and the runner that answered.</summary>
public sealed record CounterValue(long Value, string Runner);
