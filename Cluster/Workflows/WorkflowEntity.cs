using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// One workflow execution, as an entity (Effect's workflow entity): <c>run</c> replays the body, <c>activity</c> runs an
/// attempt the current replay asked for, <c>deferred</c> stores a completion and wakes the execution, <c>resume</c>
/// wakes it. A suspended execution is woken by resetting its stored <c>run</c> request, which its owner then delivers
/// again. What this instance holds in memory (completed deferreds, the activities the replay waits for) only saves
/// storage reads: a new owner reads storage.
/// </summary>
internal sealed partial class WorkflowEntity(EntityContext context, Sharding sharding, WorkflowRegistration workflow, WorkflowClient client, ILogger logger)
{
    // How long an activity attempt delivered from storage waits for a replay to claim it (a new owner replays the run,
    // which is older, first) before it is answered as not run, and the replay then runs it again.
    private static readonly TimeSpan ActivityClaimTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly ActivityOffers _activities = new();
    private readonly ExecutionMemory _memory = new();
    private bool _running;
    private bool _wakeRequested;
    private volatile bool _interrupted;   // written under _gate
    private int _runsEnded;
    private CancellationTokenSource? _interrupt;

    public string WorkflowName => workflow.Name;

    public string ExecutionId => context.Address.EntityId;

    public IServiceProvider Services => context.Services;

    public Sharding Sharding => sharding;

    public WorkflowClient Client => client;

    public DateTimeOffset Now => sharding.Time.GetUtcNow();

    /// <summary>An interrupt was stored for this execution (seen here or read when the replay started).</summary>
    public bool Interrupted => _interrupted;

    private IMessageStorage Storage => sharding.MessageStorage!;

    public async ValueTask<WorkflowResult> RunAsync(WorkflowRunRequest request, CancellationToken cancellationToken)
    {
        // A replay is abandoned as soon as its shard starts moving (it replays on the next owner), so it does not hold the
        // stop up waiting for steps its stopping entity no longer takes.
        using var replay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.StopRequested);
        cancellationToken = replay.Token;
        var span = Activity.Current;
        span?.SetTag(WorkflowDiagnostics.WorkflowTag, WorkflowName);
        span?.SetTag(WorkflowDiagnostics.ExecutionTag, ExecutionId);
        if (!Interrupted && await ResultOfAsync(WorkflowKeys.InterruptSignal, cancellationToken).ConfigureAwait(false) is not null)
        {
            lock (_gate)
            {
                _interrupted = true;   // stored before this owner took over
            }
        }

        WorkflowDiagnostics.Running.Add(1, new KeyValuePair<string, object?>(WorkflowDiagnostics.WorkflowTag, WorkflowName));
        try
        {
            while (true)
            {
                using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                lock (_gate)
                {
                    _running = true;
                    _wakeRequested = false;
                    // Not cancelled when the interrupt came before this replay: it must pass the completed steps (their
                    // compensations register as it does) and stops at the first step that would start new work.
                    _interrupt = interrupt;
                }

                var result = await ReplayAsync(request, interrupt.Token, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _interrupt = null;
                    if (result.Suspended && result.Error is null && _wakeRequested)
                    {
                        continue;   // what it waits for arrived while it was unwinding: replay now instead of suspending
                    }

                    _running = false;
                    _runsEnded++;
                }

                span?.SetTag(WorkflowDiagnostics.OutcomeTag, WorkflowDiagnostics.Outcome(result));
                await AfterRunAsync(request, result, cancellationToken).ConfigureAwait(false);
                return result;
            }
        }
        finally
        {
            lock (_gate)
            {
                _running = false;
            }

            WorkflowDiagnostics.Running.Add(-1, new KeyValuePair<string, object?>(WorkflowDiagnostics.WorkflowTag, WorkflowName));
        }
    }

    public async ValueTask<ActivityOutcome> ActivityAsync(WorkflowActivityRequest request, CancellationToken cancellationToken)
    {
        if (Activity.Current is { } span)
        {
            span.DisplayName = $"{span.OperationName}: {request.Name} #{request.Attempt}";   // which step, in the trace view
            span.SetTag(WorkflowDiagnostics.ActivityTag, request.Name);
            span.SetTag(WorkflowDiagnostics.AttemptTag, request.Attempt);
        }

        var key = WorkflowKeys.Activity(request.Name, request.Attempt);
        var claim = _activities.Claim(key);
        Func<CancellationToken, Task<byte[]>> body;
        try
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.StopRequested);
            body = await claim.Task.WaitAsync(ActivityClaimTimeout, sharding.Time, waiting.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new ActivityOutcome(false, null, null, NotRun: true);
        }
        finally
        {
            _activities.Release(key, claim);
        }

        try
        {
            return new ActivityOutcome(true, await body(cancellationToken).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;   // the instance is stopping: the attempt stays stored and runs on the next owner
        }
        catch (Exception ex)
        {
            Activity.Current?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return new ActivityOutcome(false, null, WorkflowError.From(ex));
        }
    }

    public async ValueTask<DeferredExit> DeferredAsync(WorkflowDeferredRequest request, CancellationToken cancellationToken)
    {
        var (_, run) = await StoredRunAsync(cancellationToken).ConfigureAwait(false);
        if (run is { Suspended: false })
        {
            return request.Exit with { Rejected = true };   // finished: nothing waits for it
        }

        var interrupt = request.Name == WorkflowKeys.InterruptSignal;
        bool running;
        lock (_gate)
        {
            _memory.RememberDeferred(request.Name, request.Exit, overwrite: true);
            _interrupted |= interrupt;
            running = _running;
            if (running)
            {
                _wakeRequested = true;
                if (interrupt)
                {
                    _interrupt?.Cancel();
                }
            }
        }

        if (!running)
        {
            await WakeAsync(explicitly: interrupt, cancellationToken).ConfigureAwait(false);
        }

        return request.Exit;
    }

    public async ValueTask<bool> ResumeAsync(WorkflowResumeRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_running)
            {
                _wakeRequested = true;
                return true;
            }
        }

        await WakeAsync(request.Explicit, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The value deferred <paramref name="name"/> was completed with, from this instance or storage; null when it was not.</summary>
    public async Task<DeferredExit?> ResultOfAsync(string name, CancellationToken cancellationToken)
    {
        if (_memory.TryGetDeferred(name, out var known))
        {
            return known;
        }

        var stored = await StoredReplyAsync<DeferredExit>(context.Address, WorkflowKeys.DeferredTag, name, cancellationToken).ConfigureAwait(false);
        if (stored is null or { Rejected: true })
        {
            return null;
        }

        _memory.RememberDeferred(name, stored, overwrite: false);
        return stored;
    }

    /// <summary>
    /// Runs attempt <paramref name="attempt"/> of an activity through its stored message and returns its outcome; with
    /// <paramref name="onlyIfStored"/> (interrupted), only reads an outcome already stored and returns null when there is none.
    /// </summary>
    public async Task<ActivityOutcome?> RunActivityAsync(string name, int attempt, Func<CancellationToken, Task<byte[]>> body, bool onlyIfStored, CancellationToken cancellationToken)
    {
        var key = WorkflowKeys.Activity(name, attempt);
        if (_memory.TryGetOutcome(key, out var known))
        {
            return known;   // an earlier replay on this instance got it: no round trip to storage
        }

        if (onlyIfStored)
        {
            return await StoredReplyAsync<ActivityOutcome>(context.Address, WorkflowKeys.ActivityTag, key, cancellationToken).ConfigureAwait(false) is { NotRun: false } done
                ? _memory.RememberOutcome(key, done)
                : null;
        }

        for (var tries = 0; ; tries++)
        {
            var claim = _activities.Offer(key, body);
            ActivityOutcome outcome;
            try
            {
                outcome = await sharding.SendAsync<ActivityOutcome>(context.Address, RpcKind.Request, new WorkflowActivityRequest(name, attempt), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _activities.Release(key, claim);   // answered from storage: nobody claimed it
            }

            if (!outcome.NotRun)
            {
                return _memory.RememberOutcome(key, outcome);
            }

            if (tries == 2)
            {
                return outcome;
            }

            // Delivered while no replay offered it (and answered as not run): forget that answer and run it now.
            if (await Storage.RequestIdForPrimaryKeyAsync(context.Address, WorkflowKeys.ActivityTag, key, cancellationToken).ConfigureAwait(false) is { } id
                && await sharding.ResetAsync(id, cancellationToken).ConfigureAwait(false))
            {
                sharding.ReadStorageNow();
            }
        }
    }

    /// <summary>Stores the wake-up of durable sleep <paramref name="name"/> (once: a later replay's is a duplicate and ignored).</summary>
    public Task ScheduleClockAsync(string name, DateTimeOffset at, CancellationToken cancellationToken) =>
        sharding.SendDiscardAsync(WorkflowStorage.ClockOf(sharding, ExecutionId), RpcKind.Tell,
            new DurableClockWake(WorkflowName, ExecutionId, name, at.ToUnixTimeMilliseconds()), cancellationToken);

    public async Task<T?> StoredReplyAsync<T>(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken)
        where T : class =>
        (await WorkflowStorage.ReplyForKeyAsync<T>(sharding, address, tag, primaryKey, cancellationToken).ConfigureAwait(false)).Reply;

    public void LogCompensationFailed(string activity, string? error) => LogCompensationFailedCore(logger, WorkflowName, ExecutionId, activity, error ?? "unknown");

    private async Task<WorkflowResult> ReplayAsync(WorkflowRunRequest request, CancellationToken interrupted, CancellationToken handler)
    {
        var steps = new WorkflowContext(this, interrupted, handler);
        try
        {
            var value = await workflow.RunAsync(steps, request.Payload, sharding.Serializer, interrupted).ConfigureAwait(false);
            if (steps.SuspendRequested)
            {
                return WorkflowResult.Suspend();   // the body caught the suspension; it still waits
            }

            return steps.InterruptRequested ? await InterruptedAsync(steps, handler).ConfigureAwait(false) : WorkflowResult.Success(value);
        }
        catch (Exception) when (steps.SuspendRequested)
        {
            return WorkflowResult.Suspend();
        }
        catch (OperationCanceledException) when (handler.IsCancellationRequested)
        {
            throw;   // the instance is stopping: the run stays stored and replays on the next owner
        }
        catch (Exception) when (steps.InterruptRequested || Interrupted)
        {
            return await InterruptedAsync(steps, handler).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (workflow.Options.SuspendOnFailure)
            {
                await ForgetFailedAttemptAsync(steps, handler).ConfigureAwait(false);
                return WorkflowResult.Suspend(WorkflowError.From(ex));
            }

            await steps.CompensateAsync(handler).ConfigureAwait(false);
            return WorkflowResult.Failure(WorkflowError.From(ex));
        }
    }

    private async Task<WorkflowResult> InterruptedAsync(WorkflowContext steps, CancellationToken handler)
    {
        await steps.CompensateAsync(handler).ConfigureAwait(false);
        using var timeout = TimeoutScope.Start(sharding.Options.StorageTimeout, sharding.Time, handler);
        await Storage.ClearAddressAsync(WorkflowStorage.ClockOf(sharding, ExecutionId), timeout.Token).ConfigureAwait(false);
        return WorkflowResult.Failure(new WorkflowError(typeof(WorkflowInterruptedException).FullName!, $"Workflow {WorkflowName} execution {ExecutionId} was interrupted.", Interrupted: true));
    }

    /// <summary>Suspending on failure: the failed attempt's stored outcome is forgotten, so a resume runs it again.</summary>
    private async Task ForgetFailedAttemptAsync(WorkflowContext steps, CancellationToken handler)
    {
        if (steps.LastFailedActivity is not var (name, attempt))
        {
            return;
        }

        _memory.ForgetOutcome(WorkflowKeys.Activity(name, attempt));

        if (await Storage.RequestIdForPrimaryKeyAsync(context.Address, WorkflowKeys.ActivityTag, WorkflowKeys.Activity(name, attempt), handler).ConfigureAwait(false) is { } id)
        {
            await sharding.ResetAsync(id, handler).ConfigureAwait(false);
        }
    }

    private async Task AfterRunAsync(WorkflowRunRequest request, WorkflowResult result, CancellationToken cancellationToken)
    {
        var workflowTag = new KeyValuePair<string, object?>(WorkflowDiagnostics.WorkflowTag, WorkflowName);
        if (result.Suspended)
        {
            WorkflowDiagnostics.Suspended.Add(1, workflowTag);
            return;
        }

        WorkflowDiagnostics.Completed.Add(1, workflowTag, new KeyValuePair<string, object?>(WorkflowDiagnostics.OutcomeTag, WorkflowDiagnostics.Outcome(result)));
        if (request.Parent is { } parent)
        {
            // Stored and keyed by this child, so the parent is woken at least once even if this runner dies now.
            await sharding.SendAsync<bool>(WorkflowStorage.AddressOf(sharding, parent.WorkflowName, parent.ExecutionId), RpcKind.Request,
                new WorkflowResumeRequest(WorkflowKeys.Child(WorkflowName, ExecutionId), Explicit: false), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Wakes a suspended execution by resetting its stored run, which its owner (this runner) then delivers again. A
    /// replay that just ended may not have saved its reply yet: that is waited for (briefly). An execution suspended on
    /// failure is woken only <paramref name="explicitly"/> (an operator's resume, an interrupt).
    /// </summary>
    private async Task WakeAsync(bool explicitly, CancellationToken cancellationToken)
    {
        var deadline = sharding.Time.GetUtcNow() + sharding.Options.StorageTimeout;
        while (true)
        {
            var (runId, run) = await StoredRunAsync(cancellationToken).ConfigureAwait(false);
            if (runId is null)
            {
                return;   // not started: its first run reads what was stored
            }

            if (run is null)
            {
                lock (_gate)
                {
                    if (_running)
                    {
                        _wakeRequested = true;
                        return;
                    }

                    if (_runsEnded == 0 || sharding.Time.GetUtcNow() > deadline)
                    {
                        return;   // not run here yet (its delivery reads what was stored), or its reply was never saved
                    }
                }

                await Task.Delay(sharding.Options.EntityReplyPollInterval, sharding.Time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!run.Suspended || (run.Error is not null && !explicitly))
            {
                return;
            }

            if (await sharding.ResetAsync(runId.Value, cancellationToken).ConfigureAwait(false))
            {
                sharding.ReadStorageNow();
            }

            return;
        }
    }

    private Task<(long? RequestId, WorkflowResult? Reply)> StoredRunAsync(CancellationToken cancellationToken) =>
        WorkflowStorage.ReplyForKeyAsync<WorkflowResult>(sharding, context.Address, WorkflowKeys.RunTag, string.Empty, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow {Workflow} execution {ExecutionId}: compensation of {Activity} failed: {Error}")]
    private static partial void LogCompensationFailedCore(ILogger logger, string workflow, string executionId, string activity, string error);
}
