using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// What a workflow body uses to take durable steps (Effect's <c>Activity</c>, <c>DurableClock</c>,
/// <c>DurableDeferred</c> and nested workflows). A body is replayed from its start every time its execution resumes
/// (after a wait, a restart or a move): steps that completed return their stored results at once, so the body must take
/// the same steps in the same order, with the same names, and do its side effects only inside activities.
/// </summary>
public sealed class WorkflowContext
{
    private readonly WorkflowEntity _execution;
    private readonly CancellationToken _handler;
    private readonly List<(string Activity, Func<CancellationToken, Task> Compensate)> _compensations = [];

    internal WorkflowContext(WorkflowEntity execution, CancellationToken interrupted, CancellationToken handler)
    {
        _execution = execution;
        CancellationToken = interrupted;
        _handler = handler;
    }

    /// <summary>The workflow's name.</summary>
    public string WorkflowName => _execution.WorkflowName;

    /// <summary>This execution's id (its idempotency key).</summary>
    public string ExecutionId => _execution.ExecutionId;

    /// <summary>Services of the runner running this replay.</summary>
    public IServiceProvider Services => _execution.Services;

    /// <summary>Sends to entities (call it from activities: a send outside one is repeated by every replay).</summary>
    public IEntityClient Entities => _execution.Sharding;

    /// <summary>Cancelled when the execution is interrupted (its next step then stops it) or the runner stops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>A step asked to suspend (the body is unwinding).</summary>
    internal bool SuspendRequested { get; private set; }

    /// <summary>A step found the execution interrupted.</summary>
    internal bool InterruptRequested { get; private set; }

    /// <summary>The last activity attempt that failed (reset when the execution suspends on failure, so a resume runs it again).</summary>
    internal (string Name, int Attempt)? LastFailedActivity { get; private set; }

    /// <summary>
    /// Runs activity <paramref name="name"/> at least once and returns its stored result: a replay gets the result of
    /// the attempt that completed and never runs it again. A failure (after <see cref="ActivityOptions.MaxAttempts"/>)
    /// throws <see cref="ActivityFailedException"/>, which the body may catch.
    /// </summary>
    public Task<T> RunAsync<T>(string name, Func<CancellationToken, Task<T>> activity, ActivityOptions? options = null) =>
        RunActivityAsync(name, activity, compensate: null, options);

    /// <summary>Runs an activity without a result; see <see cref="RunAsync{T}(string, Func{CancellationToken, Task{T}}, ActivityOptions?)"/>.</summary>
    public Task RunAsync(string name, Func<CancellationToken, Task> activity, ActivityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return RunActivityAsync<bool>(name, async ct =>
        {
            await activity(ct).ConfigureAwait(false);
            return true;
        }, compensate: null, options);
    }

    /// <summary>
    /// Runs an activity and, once it succeeded, registers <paramref name="compensate"/> (Effect's
    /// <c>Workflow.withCompensation</c>): if the execution later fails or is interrupted, the compensations of its
    /// completed activities run in reverse order, each once (as an activity of its own, named <c>{name}/compensate</c>).
    /// </summary>
    public Task<T> RunAsync<T>(string name, Func<CancellationToken, Task<T>> activity, Func<T, CancellationToken, Task> compensate, ActivityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(compensate);
        return RunActivityAsync(name, activity, compensate, options);
    }

    /// <summary>
    /// Waits <paramref name="duration"/> durably (Effect's <c>DurableClock.sleep</c>): the execution suspends and a
    /// stored wake-up, delivered at its time wherever the execution's shard is then, resumes it. The wake-up time is
    /// fixed by the first replay that reaches this step.
    /// </summary>
    public async Task SleepAsync(string name, TimeSpan duration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var deferred = WorkflowKeys.Clock(name);
        if (await _execution.ResultOfAsync(deferred, _handler).ConfigureAwait(false) is not null)
        {
            return;
        }

        ThrowIfInterrupted();
        await _execution.ScheduleClockAsync(name, _execution.Now + (duration < TimeSpan.Zero ? TimeSpan.Zero : duration), _handler).ConfigureAwait(false);
        throw Suspend($"sleeping ({name})");
    }

    /// <summary>A durable deferred of this execution, to await here and complete from outside (through its token).</summary>
    public DurableDeferred<T> Deferred<T>(string name) => new(WorkflowName, ExecutionId, name);

    /// <summary>
    /// Returns the value <paramref name="deferred"/> was completed with; until then the execution suspends, and it
    /// resumes when the deferred is completed. A failed deferred throws <see cref="WorkflowFailedException"/>.
    /// </summary>
    public async Task<T> AwaitAsync<T>(DurableDeferred<T> deferred)
    {
        ArgumentNullException.ThrowIfNull(deferred);
        if (await _execution.ResultOfAsync(deferred.Name, _handler).ConfigureAwait(false) is { } exit)
        {
            return exit.Succeeded
                ? _execution.Sharding.Serializer.Deserialize<T>(exit.Value ?? [])
                : throw WorkflowClient.ToException(WorkflowName, ExecutionId, exit.Error);
        }

        ThrowIfInterrupted();
        throw Suspend($"awaiting deferred {deferred.Name}");
    }

    /// <summary>
    /// Runs the workflow <paramref name="child"/> for <paramref name="payload"/> as a child of this execution and
    /// returns its result; while the child is suspended this execution suspends too, and the child resumes it when it
    /// finishes. Its failure throws <see cref="WorkflowFailedException"/>.
    /// </summary>
    public async Task<TChild> ExecuteAsync<TPayload, TChild>(WorkflowDefinition<TPayload, TChild> child, TPayload payload)
    {
        ArgumentNullException.ThrowIfNull(child);
        var childId = child.ExecutionIdFor(payload);
        var sharding = _execution.Sharding;
        var address = WorkflowStorage.AddressOf(sharding, child.Name, childId);
        if (_execution.Interrupted)
        {
            var stored = await _execution.StoredReplyAsync<WorkflowResult>(address, WorkflowKeys.RunTag, string.Empty, _handler).ConfigureAwait(false);
            if (stored is not { Suspended: false })
            {
                ThrowIfInterrupted();
            }
        }

        WorkflowResult result;
        try
        {
            result = await sharding.SendAsync<WorkflowResult>(address, RpcKind.Request,
                new WorkflowRunRequest(sharding.Serializer.Serialize(payload), new WorkflowParent(WorkflowName, ExecutionId)), _handler).ConfigureAwait(false);
        }
        catch (PersistedReplyTimeoutException)
        {
            result = WorkflowResult.Suspend();   // still running: it resumes this execution when it finishes
        }

        return result.Suspended
            ? throw Suspend($"waiting for child {child.Name} {childId}")
            : _execution.Client.Decode<TChild>(child.Name, childId, result);
    }

    private async Task<T> RunActivityAsync<T>(string name, Func<CancellationToken, Task<T>> activity, Func<T, CancellationToken, Task>? compensate, ActivityOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(activity);
        var attempts = Math.Max(1, options?.MaxAttempts ?? 1);
        var serializer = _execution.Sharding.Serializer;
        ActivityOutcome? outcome = null;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            outcome = await _execution.RunActivityAsync(name, attempt, async ct => serializer.Serialize(await activity(ct).ConfigureAwait(false)),
                onlyIfStored: _execution.Interrupted, _handler).ConfigureAwait(false);
            if (outcome is null)
            {
                ThrowIfInterrupted();   // interrupted: no new work starts
            }

            if (outcome!.Succeeded)
            {
                var value = serializer.Deserialize<T>(outcome.Value ?? []);
                if (compensate is not null)
                {
                    _compensations.Add((name, ct => compensate(value, ct)));
                }

                return value;
            }

            LastFailedActivity = (name, attempt);
            if (attempt < attempts && options!.RetryDelay > TimeSpan.Zero)
            {
                await Task.Delay(options.RetryDelay, _handler).ConfigureAwait(false);
            }
        }

        var error = outcome!.Error ?? new WorkflowError("unknown", "The activity failed without a stored error.");
        throw new ActivityFailedException(name, attempts, error.Type, error.Message);
    }

    /// <summary>Runs the registered compensations in reverse order, each once (a failing one is logged and the rest still run).</summary>
    internal async Task CompensateAsync(CancellationToken cancellationToken)
    {
        for (var i = _compensations.Count - 1; i >= 0; i--)
        {
            var (activity, compensate) = _compensations[i];
            var outcome = await _execution.RunActivityAsync(activity + "/compensate", 1, async ct =>
            {
                await compensate(ct).ConfigureAwait(false);
                return [];
            }, onlyIfStored: false, cancellationToken).ConfigureAwait(false);
            if (outcome is { Succeeded: false })
            {
                _execution.LogCompensationFailed(activity, outcome.Error?.Message);
            }
        }
    }

    private void ThrowIfInterrupted()
    {
        if (_execution.Interrupted)
        {
            InterruptRequested = true;
            throw new WorkflowInterruptedException(WorkflowName, ExecutionId);
        }
    }

    private WorkflowSuspendedException Suspend(string reason)
    {
        SuspendRequested = true;
        return new WorkflowSuspendedException(reason);
    }
}
