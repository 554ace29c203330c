using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Contracts;

/// <summary>
/// The sample counter entity as senders see it: its wire name (stated only here) and messages, each tied to it by
/// <c>IEntityRequest&lt;Counter, TReply&gt;</c>. Runners implement it (Runner/Entities/CounterEntity.cs); senders
/// address it with <c>entities.GetEntity&lt;Counter&gt;(id)</c> (an injected <c>IEntityClient</c>).
/// </summary>
[EntityName("Counter")]
public sealed class Counter;

/// <summary>Adds <paramref name="By"/> (1 unless given) and replies with the new value and the runner that holds the counter.</summary>
public sealed record Increment(int By = 1) : IEntityRequest<Counter, CounterValue>;

/// <summary>Reads the counter.</summary>
public sealed record GetValue : IEntityRequest<Counter, CounterValue>;

/// <summary>A counter's value and the runner that answered.</summary>
public sealed record CounterValue(long Value, string Runner);
