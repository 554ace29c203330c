using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// One live entity: its handler object and its mailbox. The mailbox counts unreplied requests against the
/// capacity and is drained on the thread pool, at most <c>Concurrency</c> handlers at a time (one by default, so
/// messages are handled in order).
/// </summary>
/// <remarks>
/// An idle instance holds no task, channel or timer: only its queue and, once it has handled a cancellable
/// request, one reusable interrupt source. A message that arrives while nothing runs queues the instance itself as
/// a thread-pool work item; handlers that complete synchronously are drained in one loop without allocating.
/// </remarks>
internal sealed class EntityInstance : IThreadPoolWorkItem
{
    private readonly EntityManager _owner;
    // Guards every field below; handlers and factories never run under it.
    private readonly Queue<EntityWork> _mailbox = new();
    private readonly int _limit;
    private object? _entity;
    private EntityContext? _context;
    private Exception? _activationError;
    private int _pending;
    private int _running;
    private bool _scheduled;
    private bool _stopped;
    private bool _interrupted;
    private long _lastActive;
    // The handler token of a one-at-a-time instance: reset after each message, replaced when a caller cancelled it.
    private CancellationTokenSource? _interrupt;
    // Created only when asked for (EntityContext.Stopping, a stream, a concurrent handler).
    private CancellationTokenSource? _stopping;
    // Streams (watches, subscriptions) have no natural end, so stopping interrupts them at once instead of
    // waiting out the termination timeout for them, which would hold up every shard move while a client watches.
    private CancellationTokenSource? _streamsStopping;
    private TaskCompletionSource? _drained;

    public EntityInstance(EntityManager owner, EntityAddress address)
    {
        _owner = owner;
        Address = address;
        var concurrency = owner.Registration.Concurrency;
        _limit = concurrency > 0 ? concurrency : int.MaxValue;
        _lastActive = owner.Time.GetTimestamp();
    }

    public EntityAddress Address { get; }

    /// <summary>The manager of the entity's type.</summary>
    public EntityManager Owner => _owner;

    /// <summary>The lock that guards the instance's state (and its context's keep-alive state); never held while user code runs.</summary>
    public object Gate => _mailbox;

    /// <summary>The handler object; null until <see cref="EnsureActivated"/> succeeded.</summary>
    public object? Entity => Volatile.Read(ref _entity);

    /// <summary>Unreplied requests.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Cancelled when the instance is interrupted (after the termination timeout of a stop).</summary>
    public CancellationToken StoppingToken
    {
        get
        {
            lock (_mailbox)
            {
                return _interrupted ? new CancellationToken(true) : (_stopping ??= new CancellationTokenSource()).Token;
            }
        }
    }

    private CancellationToken StreamsStoppingToken
    {
        get
        {
            lock (_mailbox)
            {
                return _stopped ? new CancellationToken(true) : (_streamsStopping ??= new CancellationTokenSource()).Token;
            }
        }
    }

    /// <summary>
    /// Creates the handler object on the first call (under the caller's shard admission, so never on a shard being
    /// released). Throws <see cref="EntityHandlerException"/> when the factory fails; the instance is then stopped.
    /// </summary>
    public void EnsureActivated()
    {
        if (Volatile.Read(ref _entity) is not null)
        {
            return;
        }

        lock (_mailbox)
        {
            if (_activationError is null && _entity is null && !_stopped)
            {
                var context = new EntityContext(Address, _owner.Runner, _owner.Services, this);
                try
                {
                    var entity = _owner.Registration.Factory(context);
                    _context = context;
                    Volatile.Write(ref _entity, entity);
                    ClusterDiagnostics.EntitiesActive.Add(1);
                }
                catch (Exception ex)
                {
                    _activationError = new EntityHandlerException(ex.GetType().FullName ?? ex.GetType().Name, $"Creating entity {Address} failed: {ex.Message}", ex);
                    _stopped = true;
                }
            }

            if (_activationError is { } error)
            {
                throw error;
            }
        }
    }

    /// <summary>Queues <paramref name="work"/>; false when the instance is stopping (create a new one).</summary>
    public bool TryEnqueue(EntityWork work)
    {
        bool schedule;
        lock (_mailbox)
        {
            if (_stopped)
            {
                return false;
            }

            var capacity = _owner.MailboxCapacity;
            if (capacity > 0 && _pending >= capacity)
            {
                throw new MailboxFullException(Address);
            }

            _pending++;
            _lastActive = _owner.Time.GetTimestamp();
            _mailbox.Enqueue(work);
            schedule = TryClaimDrain();
        }

        ClusterDiagnostics.MailboxDepth.Add(1);
        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        return true;
    }

    public bool IsIdle(TimeSpan maxIdle)
    {
        lock (_mailbox)
        {
            return _pending == 0 && _context?.KeepAlive != true && _owner.Time.GetElapsedTime(_lastActive) >= maxIdle;
        }
    }

    /// <summary>Parks a delivered keep-alive message on the activated instance; false when it is stopping (use a new one).</summary>
    public bool TryParkKeepAlive(out KeepAliveLatch latch)
    {
        lock (_mailbox)
        {
            if (_stopped || _context is null)
            {
                latch = null!;
                return false;
            }

            latch = _context.ParkKeepAlive();
            return true;
        }
    }

    /// <summary>True, with the time of its last activity, when the instance could be passivated now (no unreplied request, keep-alive off).</summary>
    public bool TryGetIdleSince(out long lastActive)
    {
        lock (_mailbox)
        {
            lastActive = _lastActive;
            return _pending == 0 && !_stopped && _context?.KeepAlive != true;
        }
    }

    /// <summary>
    /// Stops taking messages, lets queued and running ones finish within <paramref name="timeout"/>, then
    /// interrupts the rest (their senders get <see cref="EntityNotAssignedToRunnerException"/> and retry).
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Task drained;
        CancellationTokenSource? streams;
        EntityContext? context;
        lock (_mailbox)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            context = _context;
            streams = _streamsStopping;
            drained = _running == 0 && _mailbox.Count == 0
                ? Task.CompletedTask
                : (_drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        _owner.Residents?.Remove(this);
        context?.AbandonKeepAlive();

        if (streams is not null)
        {
            await streams.CancelAsync().ConfigureAwait(false);
        }

        if (!drained.IsCompleted)
        {
            try
            {
                await drained.WaitAsync(timeout, _owner.Time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _owner.Logger.LogWarning("Entity {Address} did not stop within {Timeout}; interrupting it", Address, timeout);
            }
        }

        CancellationTokenSource? stopping, interrupt;
        lock (_mailbox)
        {
            _interrupted = true;
            stopping = _stopping;
            interrupt = _interrupt;
        }

        if (stopping is not null)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
        }

        if (interrupt is not null)
        {
            await interrupt.CancelAsync().ConfigureAwait(false);
        }

        await drained.ConfigureAwait(false);
        switch (Volatile.Read(ref _entity))
        {
            case null:
                return;
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        ClusterDiagnostics.EntitiesActive.Add(-1);
    }

    /// <summary>Drains the mailbox on a thread-pool thread while handlers complete synchronously and slots are free.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            EntityWork work;
            lock (_mailbox)
            {
                if (_mailbox.Count == 0 || _running >= _limit)
                {
                    _scheduled = false;
                    return;
                }

                work = _mailbox.Dequeue();
                _running++;
            }

            // Completes synchronously for synchronous handlers; otherwise its end schedules the next drain.
            _ = ProcessAsync(work);
        }
    }

    /// <summary>Under the lock: true when the caller must queue a drain (work waits, a slot is free, none is queued).</summary>
    private bool TryClaimDrain()
    {
        if (_scheduled || _mailbox.Count == 0 || _running >= _limit)
        {
            return false;
        }

        _scheduled = true;
        return true;
    }

    private async Task ProcessAsync(EntityWork work)
    {
        CancellationTokenSource? reusable = null;
        try
        {
            if (Volatile.Read(ref _interrupted) || Entity is not { } entity)
            {
                work.Fail(new EntityNotAssignedToRunnerException(Address));
                return;
            }

            if (work.Cancellation.IsCancellationRequested)
            {
                work.Cancel(work.Cancellation);
                return;
            }

            CancellationTokenSource? linked = null;
            CancellationToken token;
            if (work.Stream is null && _limit == 1)
            {
                reusable = RentInterrupt();
                token = reusable.Token;
            }
            else
            {
                linked = work.Stream is null
                    ? CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, StoppingToken)
                    : CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, StoppingToken, StreamsStoppingToken);
                token = linked.Token;
            }

            using var link = reusable is null ? default : work.Cancellation.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), reusable);
            using var disposeLinked = linked;
            using var activity = ClusterDiagnostics.ActivitySource.HasListeners()
                ? ClusterDiagnostics.ActivitySource.StartActivity(work.Rpc.HandleSpanName(Address.EntityType), ActivityKind.Server, work.Parent)
                : null;
            if (activity is not null)
            {
                ClusterDiagnostics.TagEntityCall(activity, Address, work.Rpc.Tag, _owner.Runner?.ToString() ?? "local");
            }

            object? reply = null;
            try
            {
                if (work.Stream is { } stream)
                {
                    await foreach (var item in work.Rpc.InvokeStream(entity, work.Request, _context!, token).ConfigureAwait(false))
                    {
                        await stream.Writer.WriteAsync(item, token).ConfigureAwait(false);
                    }
                }
                else
                {
                    reply = await work.Rpc.InvokeAsync(entity, work.Request, _context!, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (work.Cancellation.IsCancellationRequested)
            {
                work.Cancel(work.Cancellation);
                return;
            }
            catch (OperationCanceledException) when (Volatile.Read(ref _interrupted) || (work.Stream is not null && Volatile.Read(ref _stopped)))
            {
                work.Fail(new EntityNotAssignedToRunnerException(Address));
                return;
            }
            catch (ClusterException ex)
            {
                ClusterDiagnostics.MessagesFailed.Add(1);
                work.Fail(ex);
                return;
            }
            catch (Exception ex)
            {
                ClusterDiagnostics.MessagesFailed.Add(1);
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                work.Fail(new EntityHandlerException(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex));
                return;
            }

            ClusterDiagnostics.MessagesProcessed.Add(1, new KeyValuePair<string, object?>(ClusterDiagnostics.EntityTypeTag, Address.EntityType));
            // A remote request's reply is sent inline by Complete: end the span first, so it is exported before the
            // caller can see the reply. Outside the handler's try: nothing may touch `work` once it is ended (pooled
            // work may already serve another request), so a failure past this point must not be reported on it.
            activity?.Stop();
            work.Complete(reply);
        }
        finally
        {
            Finish(reusable);
        }
    }

    private CancellationTokenSource RentInterrupt()
    {
        lock (_mailbox)
        {
            if (_interrupt is null)
            {
                _interrupt = new CancellationTokenSource();
                if (_interrupted)
                {
                    _interrupt.Cancel();   // nothing is registered on it yet: no callback runs under the lock
                }
            }

            return _interrupt;
        }
    }

    /// <summary>A message is done: frees its slot, hands the interrupt source on, and continues or completes the drain.</summary>
    private void Finish(CancellationTokenSource? interrupt)
    {
        bool schedule;
        TaskCompletionSource? drained = null;
        lock (_mailbox)
        {
            // A source a caller cancelled cannot be reset; the next message gets a fresh one. Once interrupted, the
            // cancelled source stays, so every later message sees the interruption.
            if (interrupt is not null && !_interrupted && !interrupt.TryReset())
            {
                _interrupt = null;
            }

            _pending--;
            _running--;
            _lastActive = _owner.Time.GetTimestamp();
            schedule = TryClaimDrain();
            if (_stopped && _running == 0 && _mailbox.Count == 0)
            {
                drained = _drained;
            }
        }

        ClusterDiagnostics.MailboxDepth.Add(-1);
        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        drained?.TrySetResult();
    }
}
