using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Routing;
using SocketRunnerAspire.Cluster.Serialization;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

/// <summary>The mailbox of one instance, driven through its <see cref="EntityManager"/> without a runner around it.</summary>
public sealed class EntityInstanceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task SynchronousAndAsynchronousHandlersKeepTheMailboxOrder()
    {
        await using var fixture = new Fixture();
        var replies = Enumerable.Range(0, 500).Select(i => fixture.Ask(new Record(i, Yield: i % 3 == 0))).ToArray();

        await Task.WhenAll(replies).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(0, 500), fixture.Seen("a"));
        Assert.Equal(1, fixture.Probe.MaxRunning);
    }

    [Fact]
    public async Task AFailedActivationIsATypedErrorAndTheNextMessageActivatesAFreshInstance()
    {
        await using var fixture = new Fixture();
        fixture.Probe.FailNextCreation = true;

        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.Ask(new Record(1)));
        Assert.Contains("Creating entity", error.Message, StringComparison.Ordinal);
        Assert.False(fixture.Manager.IsActive(Fixture.Address));

        Assert.Equal(2, await fixture.Ask(new Record(2)).WaitAsync(Timeout));
        Assert.Equal(2, fixture.Probe.Created);
    }

    [Fact]
    public async Task ACancelledRequestDoesNotCancelTheNextOne()
    {
        await using var fixture = new Fixture();
        using var cancel = new CancellationTokenSource();

        var blocked = fixture.Ask(new Block("x"), cancel.Token);
        await fixture.Probe.Started.WaitAsync(Timeout);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(Timeout));

        // The interrupt source the cancelled call used cannot be reset; the next blocking call must get a fresh one.
        var next = fixture.Ask(new Block("y"));
        await fixture.Probe.Started.WaitAsync(Timeout);
        Assert.False(next.IsCompleted);
        fixture.Probe.Release();
        Assert.Equal(1, await next.WaitAsync(Timeout));
        Assert.Equal(7, await fixture.Ask(new Record(7)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task StoppingWaitsForTheRunningHandlerThenInterruptsItAndTheQueue()
    {
        await using var fixture = new Fixture(terminationTimeout: TimeSpan.FromMilliseconds(200));
        var running = fixture.Ask(new Block("stuck"));
        await fixture.Probe.Started.WaitAsync(Timeout);
        var queued = fixture.Ask(new Record(1));

        await fixture.Manager.StopAllAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(Timeout);

        await Assert.ThrowsAsync<EntityNotAssignedToRunnerException>(() => running.WaitAsync(Timeout));
        await Assert.ThrowsAsync<EntityNotAssignedToRunnerException>(() => queued.WaitAsync(Timeout));
        Assert.True(fixture.Probe.StoppingSeen.Task.IsCompletedSuccessfully);
        Assert.Equal(1, fixture.Probe.Disposed);
    }

    [Fact]
    public async Task StoppingLetsQueuedMessagesFinishWithinTheTimeout()
    {
        await using var fixture = new Fixture();
        var running = fixture.Ask(new Block("slow"));
        await fixture.Probe.Started.WaitAsync(Timeout);
        var queued = Enumerable.Range(0, 3).Select(i => fixture.Ask(new Record(i))).ToArray();

        var stop = fixture.Manager.StopAllAsync(Timeout);
        Assert.False(stop.IsCompleted);
        fixture.Probe.Release();

        await stop.WaitAsync(Timeout);
        Assert.Equal(1, await running);
        Assert.Equal(new[] { 0, 1, 2 }, await Task.WhenAll(queued));
        Assert.False(fixture.Probe.StoppingSeen.Task.IsCompleted);   // nothing had to be interrupted
    }

    [Fact]
    public async Task AConcurrentEntityRunsUpToItsLimitAtOnce()
    {
        await using var fixture = new Fixture(concurrency: 4);
        var calls = Enumerable.Range(0, 12).Select(i => fixture.Ask(new Block("p"))).ToArray();
        for (var i = 0; i < 4; i++)
        {
            await fixture.Probe.Started.WaitAsync(Timeout);
        }

        Assert.Equal(4, fixture.Probe.Running);
        Assert.Equal(12, fixture.Manager.Pending(Fixture.Address));
        fixture.Probe.ReleaseAll();

        await Task.WhenAll(calls).WaitAsync(Timeout);
        Assert.Equal(4, fixture.Probe.MaxRunning);
        Assert.Equal(0, fixture.Manager.Pending(Fixture.Address));
    }

    [Fact]
    public async Task AFullMailboxRejectsWithoutLosingQueuedMessages()
    {
        await using var fixture = new Fixture(mailboxCapacity: 2);
        var running = fixture.Ask(new Block("b"));
        await fixture.Probe.Started.WaitAsync(Timeout);
        var queued = fixture.Ask(new Record(5));

        Assert.Throws<MailboxFullException>(() => { _ = fixture.Ask(new Record(6)); });
        fixture.Probe.Release();

        Assert.Equal(1, await running.WaitAsync(Timeout));
        Assert.Equal(5, await queued.WaitAsync(Timeout));
        Assert.Equal(new[] { 5 }, fixture.Seen("a"));
    }

    [Fact]
    public async Task RemoteRequestsGetEncodedRepliesFailuresAndCancellationsFromReusedWork()
    {
        await using var fixture = new Fixture();
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(i, await fixture.AskRemote(new Record(i, Yield: i % 2 == 0)).WaitAsync(Timeout));
        }

        using var cancel = new CancellationTokenSource();
        var blocked = fixture.AskRemote(new Block("r"), cancel.Token);
        await fixture.Probe.Started.WaitAsync(Timeout);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(Timeout));

        fixture.Probe.FailNextRecord = true;
        var error = await Assert.ThrowsAsync<EntityHandlerException>(() => fixture.AskRemote(new Record(1)).WaitAsync(Timeout));
        Assert.Contains("record refused", error.Message, StringComparison.Ordinal);

        var concurrent = Enumerable.Range(0, 200).Select(i => fixture.AskRemote(new Record(i, Yield: true))).ToArray();
        Assert.Equal(Enumerable.Range(0, 200), await Task.WhenAll(concurrent).WaitAsync(Timeout));
    }

    public sealed record Record(int Value, bool Yield = false) : IEntityRequest<MailboxEntity, int>;

    public sealed record Block(string Key) : IEntityRequest<MailboxEntity, int>;

    public sealed class MailboxProbe
    {
        private readonly ConcurrentQueue<TaskCompletionSource> _gates = new();
        private int _running;
        private int _maxRunning;
        private volatile bool _releaseAll;

        public int Created;
        public int Disposed;
        public volatile bool FailNextCreation;
        public volatile bool FailNextRecord;
        public ConcurrentDictionary<string, ConcurrentQueue<int>> Seen { get; } = new();
        public SemaphoreSlim Started { get; } = new(0);
        public TaskCompletionSource StoppingSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Running => Volatile.Read(ref _running);

        public int MaxRunning => Volatile.Read(ref _maxRunning);

        public void Enter()
        {
            var running = Interlocked.Increment(ref _running);
            int max;
            while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
            {
            }
        }

        public void Exit() => Interlocked.Decrement(ref _running);

        public TaskCompletionSource Gate()
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_releaseAll)
            {
                gate.TrySetResult();
            }
            else
            {
                _gates.Enqueue(gate);
            }

            return gate;
        }

        /// <summary>Opens the oldest gate still waited on (a cancelled handler abandoned its gate).</summary>
        public void Release()
        {
            while (_gates.TryDequeue(out var gate) && !gate.TrySetResult())
            {
            }
        }

        public void ReleaseAll()
        {
            _releaseAll = true;
            while (_gates.TryDequeue(out var gate))
            {
                gate.TrySetResult();
            }
        }
    }

    public sealed class MailboxEntity(EntityContext context, MailboxProbe probe) : IDisposable
    {
        public async ValueTask<int> Record(Record request)
        {
            probe.Enter();
            try
            {
                if (request.Yield)
                {
                    await Task.Yield();
                }

                if (probe.FailNextRecord)
                {
                    probe.FailNextRecord = false;
                    throw new InvalidOperationException("record refused");
                }

                probe.Seen.GetOrAdd(context.Address.EntityId, _ => new ConcurrentQueue<int>()).Enqueue(request.Value);
                return request.Value;
            }
            finally
            {
                probe.Exit();
            }
        }

        public async ValueTask<int> Block(CancellationToken cancellationToken)
        {
            probe.Enter();
            try
            {
                var gate = probe.Gate();
                probe.Started.Release();
                try
                {
                    await gate.Task.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    gate.TrySetCanceled(cancellationToken);
                    if (context.Stopping.IsCancellationRequested)
                    {
                        probe.StoppingSeen.TrySetResult();
                    }

                    throw;
                }

                return 1;
            }
            finally
            {
                probe.Exit();
            }
        }

        public void Dispose() => Interlocked.Increment(ref probe.Disposed);
    }

    private sealed class Fixture : IAsyncDisposable
    {
        private readonly EntityDefinition<MailboxEntity, MailboxEntity> _definition;

        public Fixture(int concurrency = 1, int mailboxCapacity = 0, TimeSpan? terminationTimeout = null)
        {
            _definition = new EntityDefinition<MailboxEntity, MailboxEntity>(context =>
            {
                Interlocked.Increment(ref Probe.Created);
                if (Probe.FailNextCreation)
                {
                    Probe.FailNextCreation = false;
                    throw new InvalidOperationException("no state");
                }

                return new MailboxEntity(context, Probe);
            });
            _definition
                .On<Record, int>((entity, request) => entity.Record(request))
                .On<Block, int>((entity, _, cancellationToken) => entity.Block(cancellationToken))
                .FailsWith<InvalidOperationException>()
                .WithConcurrency(concurrency);
            Manager = new EntityManager(_definition, runner: null, EmptyServices.Instance, mailboxCapacity, TimeSpan.FromMinutes(5),
                terminationTimeout ?? Timeout, NullLogger.Instance, TimeProvider.System);
        }

        public static EntityAddress Address { get; } = new(EntityNames.Of<MailboxEntity>.Name, "a", new ShardId(ShardId.DefaultGroup, 1));

        public MailboxProbe Probe { get; } = new();

        public EntityManager Manager { get; }

        public Task<int> Ask<TRequest>(TRequest request, CancellationToken cancellationToken = default)
            where TRequest : IEntityRequest<MailboxEntity, int>
        {
            Assert.True(_definition.TryGetRpc(EntityNames.RpcTag(typeof(TRequest)), out var rpc));
            var work = new TaskEntityWork(rpc, request, default, cancellationToken);
            Manager.Deliver(Address, work);
            return Unbox(work.Reply.Task);
        }

        /// <summary>As a request received from another runner: pooled work, the reply encoded.</summary>
        public async Task<int> AskRemote<TRequest>(TRequest request, CancellationToken cancellationToken = default)
            where TRequest : IEntityRequest<MailboxEntity, int>
        {
            Assert.True(_definition.TryGetRpc(EntityNames.RpcTag(typeof(TRequest)), out var rpc));
            var work = RemoteRequestWork.Rent(rpc, request, default, cancellationToken, ClusterSerializer.Default);
            var reply = work.Reply;
            Manager.Deliver(Address, work);
            using var bytes = await reply;
            return ClusterSerializer.Default.Deserialize<int>(bytes.Memory);
        }

        public int[] Seen(string id) => Probe.Seen.TryGetValue(id, out var seen) ? [.. seen] : [];

        public ValueTask DisposeAsync() => Manager.DisposeAsync();

        private static async Task<int> Unbox(Task<object?> reply) => (int)(await reply.ConfigureAwait(false))!;
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
