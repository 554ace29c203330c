using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Routing;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

/// <summary>
/// Effect's defect model: a handler exception the entity does not declare rebuilds the handler object and runs the
/// in-flight requests again (Effect's Sharding tests 18 and 19); declared failures, cluster errors and cancellations
/// only answer their caller.
/// </summary>
public sealed class EntityDefectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly DefectRetryPolicy Quick = new(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5));

    [Fact]
    public async Task AHandlerDefectRebuildsTheEntityAndTheRequestStillSucceeds()
    {
        await using var fixture = new Fixture();

        Assert.Equal(2, await fixture.Ask(new Crash("a", Times: 1)).WaitAsync(Timeout));

        Assert.Equal(2, fixture.Probe.Created);
        Assert.Equal(1, fixture.Probe.Disposed);
        Assert.Equal(2, fixture.Probe.Runs["a"]);
        Assert.Equal(2, await fixture.Ask(new Echo(1)).WaitAsync(Timeout));   // the fresh object carries on
    }

    [Fact]
    public async Task TheRunningRequestsAreInterruptedAndRunAgainOnTheFreshObject()
    {
        await using var fixture = new Fixture(concurrency: 2);
        var held = fixture.Ask(new Hold("h"));
        await fixture.Probe.Started.WaitAsync(Timeout);

        var crashed = fixture.Ask(new Crash("c", Times: 1));
        await Eventually.True(() => fixture.Probe.Runs.GetValueOrDefault("h") == 2, Timeout, "the held request runs again");
        fixture.Probe.Open("h");

        Assert.Equal(2, await crashed.WaitAsync(Timeout));
        Assert.Equal(2, await held.WaitAsync(Timeout));   // answered once, by the fresh object
        Assert.Equal(1, fixture.Probe.Interrupted["h"]);
        Assert.Equal(2, fixture.Probe.Created);
        Assert.Equal(0, fixture.Manager.Pending(Fixture.Address));
    }

    [Fact]
    public async Task ADeclaredFailureOfAHandlerInterruptedByTheRestartIsAnsweredNotRunAgain()
    {
        await using var fixture = new Fixture(concurrency: 2);
        var stubborn = fixture.Ask(new Stubborn("s"));
        await fixture.Probe.Started.WaitAsync(Timeout);

        Assert.Equal(2, await fixture.Ask(new Crash("c", Times: 1)).WaitAsync(Timeout));

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => stubborn.WaitAsync(Timeout));
        Assert.Equal(typeof(RuleException).FullName, error.ErrorType);
        Assert.Equal(1, fixture.Probe.Runs["s"]);
    }

    [Fact]
    public async Task TheFailingRequestRunsAgainFirstAndTheQueueKeepsItsOrder()
    {
        await using var fixture = new Fixture();
        var crashed = fixture.Ask(new Crash("c", Times: 1, Gated: true));
        await fixture.Probe.Started.WaitAsync(Timeout);
        var queued = Enumerable.Range(1, 3).Select(i => fixture.Ask(new Echo(i))).ToArray();
        Assert.Equal(4, fixture.Manager.Pending(Fixture.Address));

        fixture.Probe.Open("c");

        Assert.Equal(2, await crashed.WaitAsync(Timeout));
        var replies = await Task.WhenAll(queued).WaitAsync(Timeout);
        Assert.Equal([2, 2, 2], replies);
        Assert.Equal(["c@1", "c@2", "1@2", "2@2", "3@2"], fixture.Probe.Order);
    }

    [Fact]
    public async Task RemoteWorkRunsAgainWithoutBeingEndedTwice()
    {
        await using var fixture = new Fixture();

        Assert.Equal(2, await fixture.AskRemote(new Crash("r", Times: 1)).WaitAsync(Timeout));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(2, await fixture.AskRemote(new Echo(i)).WaitAsync(Timeout));   // the pooled work is reused cleanly
        }
    }

    [Fact]
    public async Task AStreamRunAgainResumesAfterTheItemsAlreadySent()
    {
        await using var fixture = new Fixture();

        var items = await fixture.Stream(new CountTo(5, CrashAfter: 2)).WaitAsync(Timeout);

        Assert.Equal([1, 2, 3, 4, 5], items);
        Assert.Equal(2, fixture.Probe.Created);
    }

    [Fact]
    public async Task DeclaredFailuresCancellationsAndClusterErrorsAnswerWithoutARestart()
    {
        await using var fixture = new Fixture();

        var rule = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new BreakRule(Subclass: false)).WaitAsync(Timeout));
        var subclass = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new BreakRule(Subclass: true)).WaitAsync(Timeout));
        var cancelled = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new GiveUp()).WaitAsync(Timeout));
        await Assert.ThrowsAsync<MailboxFullException>(() => fixture.Ask(new ThrowClusterError()).WaitAsync(Timeout));

        Assert.Equal(typeof(RuleException).FullName, rule.ErrorType);
        Assert.Equal(typeof(SpecificRuleException).FullName, subclass.ErrorType);
        Assert.Equal(typeof(OperationCanceledException).FullName, cancelled.ErrorType);
        Assert.Equal(1, fixture.Probe.Created);
        Assert.Equal(0, fixture.Probe.Disposed);
    }

    [Fact]
    public async Task WithFatalDefectsDisabledADefectOnlyAnswersItsCaller()
    {
        await using var fixture = new Fixture(configure: entity => entity.DisableFatalDefects().WithDefectRetryPolicy(DefectRetryPolicy.Default));

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new Crash("d", Times: 1)).WaitAsync(Timeout));

        Assert.Equal(typeof(InvalidProgramException).FullName, error.ErrorType);
        Assert.Equal(1, fixture.Probe.Runs["d"]);
        Assert.Equal(1, fixture.Probe.Created);
        Assert.Equal(1, await fixture.Ask(new Echo(1)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task AnExhaustedPolicyAnswersTheHandlerErrorAndTheEntityCarriesOn()
    {
        await using var fixture = new Fixture(configure: entity => entity.WithDefectRetryPolicy(new DefectRetryPolicy(2, TimeSpan.Zero, TimeSpan.Zero)));

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new Crash("x", Times: 5)).WaitAsync(Timeout));

        Assert.Equal(typeof(InvalidProgramException).FullName, error.ErrorType);
        Assert.Equal(2, fixture.Probe.Runs["x"]);
        // Every defect discards the object, the last one included; the next request finds a fresh one.
        Assert.Equal(3, await fixture.Ask(new Echo(1)).WaitAsync(Timeout));
        Assert.Equal(2, fixture.Probe.Disposed);
    }

    [Fact]
    public async Task TheRebuildWaitsTheBackOffOnTheEntityClockAndAFailingFactoryIsRetried()
    {
        var time = new ObservedFakeTime();
        await using var fixture = new Fixture(time: time, configure: entity => entity.WithDefectRetryPolicy(new DefectRetryPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))));
        await time.TimerStartedAsync();   // the manager's reaper

        var crashed = fixture.Ask(new Crash("t", Times: 1));
        fixture.Probe.FailingBuilds = 1;   // the rebuild, not the first build
        await time.TimerStartedAsync();
        Assert.Equal(1, fixture.Probe.Created);
        time.Advance(TimeSpan.FromSeconds(1.25));   // the step plus the most jitter
        await time.TimerStartedAsync();   // the factory failed: the next wait
        Assert.Equal(2, fixture.Probe.Created);
        Assert.False(crashed.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.25));

        Assert.Equal(3, await crashed.WaitAsync(Timeout));
    }

    [Fact]
    public async Task StoppingDuringTheRestartWaitEndsItAndFailsTheKeptWorkAsNotAssigned()
    {
        await using var fixture = new Fixture(configure: entity => entity.WithDefectRetryPolicy(new DefectRetryPolicy(3, TimeSpan.FromHours(1), TimeSpan.FromHours(1))));
        var crashed = fixture.Ask(new Crash("s", Times: 1, Gated: true));
        await fixture.Probe.Started.WaitAsync(Timeout);
        var queued = fixture.Ask(new Echo(1));
        fixture.Probe.Open("s");
        await Eventually.True(() => fixture.Probe.Disposed == 1, Timeout, "the broken object is disposed");

        await fixture.Manager.StopAllAsync(Timeout).WaitAsync(Timeout);

        await Assert.ThrowsAsync<EntityNotAssignedToRunnerException>(() => crashed.WaitAsync(Timeout));
        await Assert.ThrowsAsync<EntityNotAssignedToRunnerException>(() => queued.WaitAsync(Timeout));
        Assert.Equal(1, fixture.Probe.Created);
        Assert.Equal(1, fixture.Probe.Disposed);
        Assert.False(fixture.Manager.IsActive(Fixture.Address));
    }

    [Fact]
    public async Task EachRestartIsCountedByEntityType()
    {
        var restarts = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, meterListener) =>
        {
            if (instrument.Meter.Name == ClusterDiagnostics.Name && instrument.Name == "cluster.entity.restarts")
            {
                meterListener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: ClusterDiagnostics.EntityTypeTag, Value: "DefectProbe" })
                {
                    Interlocked.Add(ref restarts, value);
                }
            }
        });
        listener.Start();
        await using var fixture = new Fixture();

        Assert.Equal(3, await fixture.Ask(new Crash("m", Times: 2)).WaitAsync(Timeout));

        Assert.Equal(2, Interlocked.Read(ref restarts));
    }

    [Fact]
    public async Task APersistedRequestRunsAgainAndOnlyItsFinalReplyIsSaved()
    {
        var probe = new DefectProbe();
        var messages = new RecordingMessageStorage(new InMemoryMessageStorage());
        await using var cluster = await TestCluster.StartAsync(1, messages: messages, configure: builder => DefectEntity.Register(builder, probe, Quick));

        Assert.Equal(2, await cluster.Client.GetEntity<DefectEntity>("p").AskAsync(new PersistedCrash("p", Times: 1)).WaitAsync(Timeout));

        var reply = Assert.Single(messages.Replies);
        Assert.Equal((true, false), (reply.IsFinal, reply.IsFailure));
        Assert.Equal(2, probe.Runs["p"]);
    }

    [Fact]
    public async Task APersistedStreamRunAgainSavesEachChunkOnce()
    {
        var probe = new DefectProbe();
        var messages = new RecordingMessageStorage(new InMemoryMessageStorage());
        await using var cluster = await TestCluster.StartAsync(1, messages: messages, configure: builder => DefectEntity.Register(builder, probe, Quick));

        var items = new List<int>();
        await foreach (var item in cluster.Client.GetEntity<DefectEntity>("ps").StreamAsync(new PersistedCountTo(4, CrashAfter: 2)).WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            items.Add(item);
        }

        Assert.Equal([1, 2, 3, 4], items);
        Assert.Equal([0, 1, 2, 3, 4], messages.Replies.Select(r => r.Sequence).Order());
        Assert.Equal(2, probe.Created);
    }

    [Fact]
    public async Task AnExhaustedPersistedRequestHasItsFailureSavedAsTheReply()
    {
        var probe = new DefectProbe();
        var messages = new RecordingMessageStorage(new InMemoryMessageStorage());
        var twice = new DefectRetryPolicy(2, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1));
        await using var cluster = await TestCluster.StartAsync(1, messages: messages, configure: builder => DefectEntity.Register(builder, probe, twice));

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => cluster.Client.GetEntity<DefectEntity>("pf").AskAsync(new PersistedCrash("pf", Times: 9)).WaitAsync(Timeout));

        Assert.Equal(typeof(InvalidProgramException).FullName, error.ErrorType);
        var reply = Assert.Single(messages.Replies);
        Assert.Equal((true, true), (reply.IsFinal, reply.IsFailure));
        Assert.Equal(2, probe.Runs["pf"]);
    }

    public sealed record Echo(int Value) : IEntityRequest<DefectEntity, int>;

    public sealed record Hold(string Key) : IEntityRequest<DefectEntity, int>;

    /// <summary>Throws a defect on the handler's first <paramref name="Times"/> runs for <paramref name="Key"/>.</summary>
    public sealed record Crash(string Key, int Times, bool Gated = false) : IEntityRequest<DefectEntity, int>;

    public sealed record BreakRule(bool Subclass) : IEntityRequest<DefectEntity, int>;

    /// <summary>Waits for its gate; interrupted, it answers with a declared failure instead of the cancellation.</summary>
    public sealed record Stubborn(string Key) : IEntityRequest<DefectEntity, int>;

    public sealed record GiveUp : IEntityRequest<DefectEntity, int>;

    public sealed record ThrowClusterError : IEntityRequest<DefectEntity, int>;

    /// <summary>Counts 1..N; its first run throws a defect after item <paramref name="CrashAfter"/>.</summary>
    public sealed record CountTo(int N, int CrashAfter) : IEntityStreamRequest<DefectEntity, int>;

    [Persisted]
    public sealed record PersistedCrash(string Key, int Times) : IEntityRequest<DefectEntity, int>;

    [Persisted]
    public sealed record PersistedCountTo(int N, int CrashAfter) : IEntityStreamRequest<DefectEntity, int>;

    public class RuleException(string message) : Exception(message);

    public sealed class SpecificRuleException(string message) : RuleException(message);

    public sealed class DefectProbe
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

        public int Created;
        public int Disposed;
        public int FailingBuilds;

        public ConcurrentDictionary<string, int> Runs { get; } = new();

        public ConcurrentDictionary<string, int> Interrupted { get; } = new();

        /// <summary>Each handled Echo and Crash run as <c>key@generation</c>.</summary>
        public ConcurrentQueue<string> Order { get; } = new();

        public SemaphoreSlim Started { get; } = new(0);

        public int Run(string key) => Runs.AddOrUpdate(key, 1, (_, n) => n + 1);

        public TaskCompletionSource Gate(string key) => _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Open(string key) => Gate(key).TrySetResult();
    }

    /// <summary>Its <c>generation</c> is the build number of the handler object (1 first, 2 after one restart).</summary>
    [EntityName("DefectProbe")]
    public sealed class DefectEntity(DefectProbe probe, int generation) : IDisposable
    {
        public static void Register(ClusterBuilder builder, DefectProbe probe, DefectRetryPolicy policy) =>
            builder.AddEntity<DefectEntity, DefectEntity>(_ => Create(probe), entity => Configure(entity.WithDefectRetryPolicy(policy)));

        public static DefectEntity Create(DefectProbe probe)
        {
            var generation = Interlocked.Increment(ref probe.Created);
            if (probe.FailingBuilds > 0)
            {
                probe.FailingBuilds--;
                throw new InvalidOperationException("no state yet");
            }

            return new DefectEntity(probe, generation);
        }

        public static void Configure(EntityDefinition<DefectEntity, DefectEntity> entity) => entity
            .On<Echo, int>((e, m) => e.Handle(m))
            .On<Hold, int>((e, m, ct) => e.Handle(m, ct))
            .On<Crash, int>((e, m, ct) => e.Handle(m.Key, m.Times, m.Gated, ct))
            .On<PersistedCrash, int>((e, m, ct) => e.Handle(m.Key, m.Times, gated: false, ct))
            .On<BreakRule, int>((_, m) => throw (m.Subclass ? new SpecificRuleException("specific rule") : new RuleException("rule")))
            .On<Stubborn, int>((e, m, ct) => e.Handle(m, ct))
            .On<GiveUp, int>((_, _) => throw new OperationCanceledException("gave up by itself"))
            .On<ThrowClusterError, int>((_, _) => throw new MailboxFullException(Fixture.Address))
            .OnStream<CountTo, int>((e, m, ct) => e.Count(m.N, m.CrashAfter, "count", ct))
            .OnStream<PersistedCountTo, int>((e, m, ct) => e.Count(m.N, m.CrashAfter, "persisted-count", ct))
            .FailsWith<RuleException>();

        private ValueTask<int> Handle(Echo message)
        {
            probe.Order.Enqueue($"{message.Value}@{generation}");
            return ValueTask.FromResult(generation);
        }

        private async ValueTask<int> Handle(Hold message, CancellationToken cancellationToken)
        {
            probe.Run(message.Key);
            probe.Started.Release();
            try
            {
                await probe.Gate(message.Key).Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Interrupted.AddOrUpdate(message.Key, 1, (_, n) => n + 1);
                throw;
            }

            return generation;
        }

        private async ValueTask<int> Handle(Stubborn message, CancellationToken cancellationToken)
        {
            probe.Run(message.Key);
            probe.Started.Release();
            try
            {
                await probe.Gate(message.Key).Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new RuleException("refused to be interrupted");
            }

            return generation;
        }

        private async ValueTask<int> Handle(string key, int times, bool gated, CancellationToken cancellationToken)
        {
            var run = probe.Run(key);
            probe.Order.Enqueue($"{key}@{generation}");
            if (gated)
            {
                probe.Started.Release();
                await probe.Gate(key).Task.WaitAsync(cancellationToken);
            }

            return run <= times ? throw new InvalidProgramException($"defect in {key}, run {run}") : generation;
        }

        private async IAsyncEnumerable<int> Count(int n, int crashAfter, string key, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var run = probe.Run(key);
            for (var i = 1; i <= n; i++)
            {
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                yield return i;
                if (i == crashAfter && run == 1)
                {
                    throw new InvalidProgramException($"defect after {i}");
                }
            }
        }

        public void Dispose() => Interlocked.Increment(ref probe.Disposed);
    }

    private sealed class Fixture : IAsyncDisposable
    {
        private readonly EntityDefinition<DefectEntity, DefectEntity> _definition;

        public Fixture(int concurrency = 1, TimeProvider? time = null, Action<EntityDefinition<DefectEntity, DefectEntity>>? configure = null)
        {
            _definition = new EntityDefinition<DefectEntity, DefectEntity>(_ => DefectEntity.Create(Probe));
            DefectEntity.Configure(_definition.WithConcurrency(concurrency).WithDefectRetryPolicy(Quick));
            configure?.Invoke(_definition);
            Manager = new EntityManager(_definition, runner: null, EmptyServices.Instance, mailboxCapacity: 0, TimeSpan.FromMinutes(5),
                Timeout, NullLogger.Instance, time ?? TimeProvider.System);
        }

        public static EntityAddress Address { get; } = new("DefectProbe", "d", new ShardId(ShardId.DefaultGroup, 1));

        public DefectProbe Probe { get; } = new();

        public EntityManager Manager { get; }

        public Task<int> Ask<TRequest>(TRequest request)
            where TRequest : IEntityRequest<DefectEntity, int>
        {
            var work = new TaskEntityWork(Rpc<TRequest>(), request, default, CancellationToken.None);
            Manager.Deliver(Address, work);
            return Unbox(work.Reply.Task);
        }

        public async Task<int> AskRemote<TRequest>(TRequest request)
            where TRequest : IEntityRequest<DefectEntity, int>
        {
            var work = RemoteRequestWork.Rent(Rpc<TRequest>(), request, default, CancellationToken.None, ClusterSerializer.Default);
            var reply = work.Reply;
            Manager.Deliver(Address, work);
            using var bytes = await reply;
            return ClusterSerializer.Default.Deserialize<int>(bytes.Memory);
        }

        public async Task<List<int>> Stream<TRequest>(TRequest request)
            where TRequest : IEntityStreamRequest<DefectEntity, int>
        {
            var work = new TaskEntityWork(Rpc<TRequest>(), request, default, CancellationToken.None);
            Manager.Deliver(Address, work);
            var items = new List<int>();
            await foreach (var item in work.Stream!.Reader.ReadAllAsync())
            {
                items.Add((int)item!);
            }

            await work.Reply.Task;
            return items;
        }

        public ValueTask DisposeAsync() => Manager.DisposeAsync();

        private RpcBinding Rpc<TRequest>()
        {
            Assert.True(_definition.TryGetRpc(EntityNames.RpcTag(typeof(TRequest)), out var rpc));
            return rpc;
        }

        private static async Task<int> Unbox(Task<object?> reply) => (int)(await reply.ConfigureAwait(false))!;
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
