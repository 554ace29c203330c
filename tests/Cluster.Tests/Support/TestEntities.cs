using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Support;

public sealed record Increment(int By) : IEntityRequest<CounterEntity, int>;

public sealed record WhereAmI : IEntityRequest<CounterEntity, string>;

public sealed record CountTo(int N) : IEntityStreamRequest<CounterEntity, int>;

public sealed record Hold(string Key) : IEntityRequest<CounterEntity, int>;

public sealed record Fail(string Reason) : IEntityRequest<CounterEntity, int>;

public sealed record Reset : IEntityMessage<CounterEntity>;

public sealed record SetKeepAlive(bool Enabled) : IEntityRequest<CounterEntity, bool>;

[Persisted]
public sealed record Deposit(string Key, int Amount) : IEntityRequest<CounterEntity, int>, IPrimaryKey
{
    public string PrimaryKey => Key;
}

[Persisted]
public sealed record Note(string Key) : IEntityMessage<CounterEntity>, IPrimaryKey
{
    public string PrimaryKey => Key;
}

[Persisted]
public sealed record RecordAt(string Key, DateTimeOffset DeliverAt) : IEntityMessage<CounterEntity>, IDeliverAt;

[Persisted]
public sealed record PersistedCountTo(int N) : IEntityStreamRequest<CounterEntity, int>;

[Persisted]
public sealed record PersistedHold(string Key) : IEntityRequest<CounterEntity, int>;

[Persisted(Uninterruptible = true)]
public sealed record UninterruptibleHold(string Key) : IEntityRequest<CounterEntity, int>;

/// <summary>Not serializable: an interface-typed member cannot be deserialized.</summary>
public sealed record Unserializable(IDisposable Resource) : IEntityRequest<CounterEntity, int>;

/// <summary>Test entity. Static probes (keyed by the test's <see cref="Probe"/>) let tests observe inside.</summary>
[EntityName("Counter")]
public sealed class CounterEntity(EntityContext context, Probe probe)
{
    private int _count;

    public ValueTask<int> Increment(Increment message) => ValueTask.FromResult(_count += message.By);

    public ValueTask<string> WhereAmI() => ValueTask.FromResult(context.Runner?.ToString() ?? "?");

    public async IAsyncEnumerable<int> CountTo(CountTo message, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 1; i <= message.N; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
        }
    }

    public async ValueTask<int> Hold(Hold message, CancellationToken cancellationToken)
    {
        var running = Interlocked.Increment(ref probe.Running);
        probe.MaxRunning = Math.Max(probe.MaxRunning, running);
        probe.Started.Release();
        try
        {
            await probe.Gate(message.Key).Task.WaitAsync(cancellationToken);
            return running;
        }
        catch (OperationCanceledException)
        {
            probe.Cancelled.TrySetResult(message.Key);
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref probe.Running);
        }
    }

    public ValueTask<int> Deposit(Deposit message)
    {
        probe.Handled(message.Key, context.Runner);
        return ValueTask.FromResult(_count += message.Amount);
    }

    public ValueTask Record(string key)
    {
        probe.Handled(key, context.Runner);
        return ValueTask.CompletedTask;
    }

    public ValueTask Reset()
    {
        _count = 0;
        return ValueTask.CompletedTask;
    }

    public static void Configure(EntityDefinition<CounterEntity, CounterEntity> entity) => entity
        .On<Increment, int>((e, m) => e.Increment(m))
        .On<WhereAmI, string>((e, _) => e.WhereAmI())
        .OnStream<CountTo, int>((e, m, ct) => e.CountTo(m, ct))
        .On<Hold, int>((e, m, ct) => e.Hold(m, ct))
        .On<Fail, int>((_, m) => throw new InvalidOperationException(m.Reason))
        .FailsWith<InvalidOperationException>()
        .On<Unserializable, int>((_, _) => ValueTask.FromResult(0))
        .On<SetKeepAlive, bool>(async (_, m, ctx, ct) =>
        {
            await ctx.SetKeepAliveAsync(m.Enabled, ct);
            return ctx.KeepAlive;
        })
        .OnTell<Reset>((e, _) => e.Reset())
        .On<Deposit, int>((e, m) => e.Deposit(m))
        .OnTell<Note>((e, m) => e.Record(m.Key))
        .OnTell<RecordAt>((e, m) => e.Record(m.Key))
        .OnStream<PersistedCountTo, int>((e, m, ct) => e.CountTo(new CountTo(m.N), ct))
        .On<PersistedHold, int>((e, m, ct) => e.Hold(new Hold(m.Key), ct))
        .On<UninterruptibleHold, int>((e, m, ct) => e.Hold(new Hold(m.Key), ct));
}

/// <summary>Lets a test see and steer what <see cref="CounterEntity"/> instances do.</summary>
public sealed class Probe
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

    public int Running;
    public int MaxRunning;
    public int Created;
    public int Disposed;
    public SemaphoreSlim Started { get; } = new(0);
    public TaskCompletionSource<string> Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How often a handler ran per key, when, and on which runner (last run).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> Runs { get; } = new();

    public System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> HandledAt { get; } = new();

    public System.Collections.Concurrent.ConcurrentDictionary<string, RunnerAddress?> HandledBy { get; } = new();

    /// <summary>Every run, in order: which key on which runner.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Key, RunnerAddress? Runner)> History { get; } = new();

    public void Handled(string key, RunnerAddress? runner)
    {
        History.Enqueue((key, runner));
        Runs.AddOrUpdate(key, 1, (_, n) => n + 1);
        HandledAt[key] = DateTimeOffset.UtcNow;
        HandledBy[key] = runner;
    }

    public TaskCompletionSource Gate(string key) => _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Open(string key) => Gate(key).TrySetResult();
}
