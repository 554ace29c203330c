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
/// <para>
/// A defect (see <see cref="EntityRegistration.IsDefect"/>) restarts the instance, as Effect does: nothing new starts,
/// the other running handlers are interrupted, and once none runs the handler object is disposed and, after the
/// <see cref="DefectRetryPolicy"/>'s back-off, built again by the factory. The requests that were running (the one that
/// threw, unless its attempts are used up, and the interrupted ones) then run again on the fresh object ahead of the
/// queue, which is kept: a sequential entity's order is unchanged. Requests that ran side by side on a concurrent
/// entity run again in the order they stopped (the one that threw first); the instance does not number its messages,
/// so that no message pays for a restart that may never come. Work kept for a rerun is not ended, so it is still
/// counted as pending and may be ended exactly once later.
/// </para>
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
    // A defect discarded the handler object: nothing new starts until the fresh one is built.
    private bool _restarting;
    // The rebuild runs (it starts once no handler runs any more).
    private bool _rebuilding;
    // Created by the first defect, so an instance that never restarts carries one null reference for it.
    private EntityRestart? _restart;
    // The handler token of a one-at-a-time instance: reset after each message, replaced when a caller cancelled it.
    private CancellationTokenSource? _interrupt;
    // Created only when asked for (EntityContext.Stopping).
    private CancellationTokenSource? _stopping;
    // The token of streams and concurrent handlers: cancelled when a stop interrupts or a defect restarts the
    // instance (then replaced, so the next handlers get a fresh one).
    private CancellationTokenSource? _handlers;
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

    private CancellationToken HandlersToken
    {
        get
        {
            lock (_mailbox)
            {
                return _interrupted || _restarting ? new CancellationToken(true) : (_handlers ??= new CancellationTokenSource()).Token;
            }
        }
    }

    /// <summary>Cancelled as soon as a stop starts (streams end at once; other handlers get until the stop timeout, unless they watch this).</summary>
    public CancellationToken StopRequestedToken
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
            // _context is set once, at the first activation: a restart's rebuild is not done here.
            if (_activationError is null && _context is null && !_stopped)
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
        CancellationTokenSource? streams, restartWait;
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
            restartWait = _restart?.Wait;
            drained = _running == 0 && _mailbox.Count == 0 && !_restarting
                ? Task.CompletedTask
                : (_drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        _owner.Residents?.Remove(this);
        context?.AbandonKeepAlive();

        if (streams is not null)
        {
            await streams.CancelAsync().ConfigureAwait(false);
        }

        if (restartWait is not null)
        {
            await restartWait.CancelAsync().ConfigureAwait(false);   // not rebuilt for a stop: the work it kept fails as not assigned
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

        CancellationTokenSource? stopping, interrupt, handlers;
        lock (_mailbox)
        {
            _interrupted = true;
            stopping = _stopping;
            interrupt = _interrupt;
            handlers = _handlers;
        }

        if (stopping is not null)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
        }

        if (handlers is not null)
        {
            await handlers.CancelAsync().ConfigureAwait(false);
        }

        if (interrupt is not null)
        {
            await interrupt.CancelAsync().ConfigureAwait(false);
        }

        await drained.ConfigureAwait(false);
        if (_context is null)
        {
            return;   // never activated
        }

        // Null when a restart was cut short by this stop (its broken object is disposed already).
        await DisposeEntityAsync(Volatile.Read(ref _entity)).ConfigureAwait(false);
        ClusterDiagnostics.EntitiesActive.Add(-1);
    }

    internal static async ValueTask DisposeEntityAsync(object? entity)
    {
        switch (entity)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    /// <summary>Drains the mailbox on a thread-pool thread while handlers complete synchronously and slots are free.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            EntityWork work;
            lock (_mailbox)
            {
                if (_mailbox.Count == 0 || _running >= _limit || _restarting)
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
        if (_scheduled || _mailbox.Count == 0 || _running >= _limit || _restarting)
        {
            return false;
        }

        _scheduled = true;
        return true;
    }

    private async Task ProcessAsync(EntityWork work)
    {
        CancellationTokenSource? reusable = null;
        var keptForRerun = false;
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
                    ? CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, HandlersToken)
                    : CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, HandlersToken, StopRequestedToken);
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
                    var resent = work.StreamItemsSent;   // a rerun after a restart: the caller has those items already
                    await foreach (var item in work.Rpc.InvokeStream(entity, work.Request, _context!, token).ConfigureAwait(false))
                    {
                        if (resent > 0)
                        {
                            resent--;
                            continue;
                        }

                        await stream.Writer.WriteAsync(item, token).ConfigureAwait(false);
                        work.StreamItemsSent++;
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
            catch (OperationCanceledException) when (Volatile.Read(ref _interrupted) || Volatile.Read(ref _stopped))
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
            catch (OperationCanceledException) when (Volatile.Read(ref _restarting))
            {
                keptForRerun = KeepForRerun(work);   // interrupted by another handler's defect
                return;
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                var answer = _owner.Registration.IsDefect(ex) ? OnDefect(work, ex) : HandlerError(ex);
                if (answer is null)
                {
                    keptForRerun = true;
                    return;
                }

                ClusterDiagnostics.MessagesFailed.Add(1);
                work.Fail(answer);
                return;
            }

            if (_restart is { CompletedSince: false } restart)
            {
                restart.CompletedSince = true;   // the next restart waits the first delay again
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
            Finish(reusable, keptForRerun);
        }
    }

    private static EntityHandlerException HandlerError(Exception ex) => new(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex);

    /// <summary>
    /// <paramref name="work"/>'s handler threw <paramref name="defect"/>: starts a restart (unless one is under way, as
    /// when concurrent handlers fail together, or the instance is stopping) and keeps the work for the fresh handler
    /// object. Returns null when it is kept, else what to answer it with: the handler error once its attempts are used
    /// up (the object is rebuilt all the same), not-assigned when the instance stops (the next owner, or the sender's
    /// retry, runs it again).
    /// </summary>
    private Exception? OnDefect(EntityWork work, Exception defect)
    {
        Exception? answer = null;
        CancellationTokenSource? handlers = null;
        lock (_mailbox)
        {
            if (++work.DefectAttempts >= _owner.Registration.DefectRetryPolicy.MaxAttempts)
            {
                answer = HandlerError(defect);
            }

            if (_stopped)
            {
                answer ??= new EntityNotAssignedToRunnerException(Address);
            }
            else
            {
                var restart = _restart ??= new EntityRestart(_owner.Registration.DefectRetryPolicy.CreateBackoff());
                if (answer is null)
                {
                    restart.Kept.Add(work);
                }

                if (!_restarting)
                {
                    _restarting = true;
                    restart.Record(defect);
                    handlers = _handlers;
                    _handlers = null;
                }
            }
        }

        handlers?.Cancel();   // the other running handlers; each is kept for the rerun as it ends
        return answer;
    }

    private bool KeepForRerun(EntityWork work)
    {
        lock (_mailbox)
        {
            _restart!.Kept.Add(work);   // a restart is under way, so its state exists
        }

        return true;
    }

    /// <summary>
    /// Runs once no handler runs after a defect: disposes the handler object, waits the back-off, builds a fresh one
    /// (retrying a failing factory with the same back-off) and queues the kept work ahead of the rest. A stop during
    /// the wait ends it without a rebuild; the kept work then fails as not assigned.
    /// </summary>
    private async Task RestartAsync()
    {
        object? broken;
        (Exception Defect, TimeSpan Delay, CancellationToken Wait) rebuild;
        var restart = _restart!;   // a defect created it
        lock (_mailbox)
        {
            broken = _entity;
            Volatile.Write(ref _entity, null);
            rebuild = restart.Begin(_stopped);
        }

        var fresh = await restart.RebuildAsync(_owner, Address, _context!, broken, rebuild.Defect, rebuild.Delay, rebuild.Wait).ConfigureAwait(false);

        bool schedule;
        TaskCompletionSource? drained = null;
        lock (_mailbox)
        {
            Volatile.Write(ref _entity, fresh);
            restart.Requeue(_mailbox);
            _restarting = false;
            _rebuilding = false;
            schedule = TryClaimDrain();
            if (_stopped && _running == 0 && _mailbox.Count == 0)
            {
                drained = _drained;
            }
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        drained?.TrySetResult();
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

    /// <summary>
    /// A message is done (or kept for a rerun, <paramref name="keptForRerun"/>: still pending): frees its slot, hands
    /// the interrupt source on, and continues or completes the drain, or starts the rebuild once the last handler ended.
    /// </summary>
    private void Finish(CancellationTokenSource? interrupt, bool keptForRerun)
    {
        bool schedule;
        var rebuild = false;
        TaskCompletionSource? drained = null;
        lock (_mailbox)
        {
            // A source a caller cancelled cannot be reset; the next message gets a fresh one. Once interrupted, the
            // cancelled source stays, so every later message sees the interruption.
            if (interrupt is not null && !_interrupted && !interrupt.TryReset())
            {
                _interrupt = null;
            }

            if (!keptForRerun)
            {
                _pending--;
            }

            _running--;
            _lastActive = _owner.Time.GetTimestamp();
            if (_restarting && _running == 0 && !_rebuilding)
            {
                _rebuilding = rebuild = true;
            }

            schedule = TryClaimDrain();
            if (_stopped && _running == 0 && _mailbox.Count == 0 && !_restarting)
            {
                drained = _drained;
            }
        }

        if (!keptForRerun)
        {
            ClusterDiagnostics.MailboxDepth.Add(-1);
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        if (rebuild)
        {
            _ = RestartAsync();
        }

        drained?.TrySetResult();
    }
}
