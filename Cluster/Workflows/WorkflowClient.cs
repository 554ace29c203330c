using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// <see cref="IWorkflowClient"/> over a node's <see cref="Sharding"/>: every operation is a persisted message to the
/// execution's entity (<c>Workflow/{name}</c>, id = execution id, shard group <c>workflow</c>), and state is read from
/// the replies MessageStorage keeps.
/// </summary>
internal sealed class WorkflowClient(Sharding sharding) : IWorkflowClient
{
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromSeconds(2);

    public async Task<TResult> ExecuteAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, TPayload payload, CancellationToken cancellationToken = default)
    {
        var executionId = workflow.ExecutionIdFor(payload);
        var address = AddressOf(workflow.Name, executionId);
        WorkflowResult result;
        try
        {
            result = await sharding.SendAsync<WorkflowResult>(address, RpcKind.Request,
                new WorkflowRunRequest(sharding.Serializer.Serialize(payload), Parent: null), cancellationToken).ConfigureAwait(false);
        }
        catch (PersistedReplyTimeoutException)
        {
            result = WorkflowResult.Suspend();   // a first run longer than the reply timeout: it goes on, and is polled for
        }

        var interval = sharding.Options.EntityReplyPollInterval;
        while (result.Suspended)
        {
            // Suspended: it resumes on its owner when what it waits for arrives; its next reply is read from storage.
            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            interval = interval * 2 < MaxPollInterval ? interval * 2 : MaxPollInterval;
            result = await ReadResultAsync(address, cancellationToken).ConfigureAwait(false) ?? result;
        }

        return Decode<TResult>(workflow.Name, executionId, result);
    }

    public async Task<string> StartAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, TPayload payload, CancellationToken cancellationToken = default)
    {
        var executionId = workflow.ExecutionIdFor(payload);
        await sharding.SendDiscardAsync(AddressOf(workflow.Name, executionId), RpcKind.Request,
            new WorkflowRunRequest(sharding.Serializer.Serialize(payload), Parent: null), cancellationToken).ConfigureAwait(false);
        return executionId;
    }

    public async Task<WorkflowStatus<TResult>?> PollAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default)
    {
        var (requestId, result) = await WorkflowStorage.ReplyForKeyAsync<WorkflowResult>(sharding, AddressOf(workflow.Name, executionId), WorkflowKeys.RunTag, string.Empty, cancellationToken).ConfigureAwait(false);
        if (requestId is null)
        {
            return null;
        }

        return result switch
        {
            null => new WorkflowStatus<TResult>(WorkflowState.Pending, Suspended: false, default, null),
            { Suspended: true } => new WorkflowStatus<TResult>(WorkflowState.Pending, Suspended: true, default,
                result.Error is { } failure ? ToException(workflow.Name, executionId, failure) : null),
            { Succeeded: true } => new WorkflowStatus<TResult>(WorkflowState.Succeeded, false, sharding.Serializer.Deserialize<TResult>(result.Value), null),
            _ => new WorkflowStatus<TResult>(WorkflowState.Failed, false, default, ToException(workflow.Name, executionId, result.Error)),
        };
    }

    public async Task<bool> InterruptAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default)
    {
        if (await PollAsync(workflow, executionId, cancellationToken).ConfigureAwait(false) is not { IsComplete: false })
        {
            return false;
        }

        var reply = await sharding.SendAsync<DeferredExit>(AddressOf(workflow.Name, executionId), RpcKind.Request,
            new WorkflowDeferredRequest(WorkflowKeys.InterruptSignal, new DeferredExit(true, null, null)), cancellationToken).ConfigureAwait(false);
        return !reply.Rejected;
    }

    public async Task<bool> ResumeAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string executionId, CancellationToken cancellationToken = default)
    {
        if (await PollAsync(workflow, executionId, cancellationToken).ConfigureAwait(false) is not { IsComplete: false, Suspended: true })
        {
            return false;
        }

        return await sharding.SendAsync<bool>(AddressOf(workflow.Name, executionId), RpcKind.Request,
            new WorkflowResumeRequest("operator/" + sharding.NewSnowflakeId(), Explicit: true), cancellationToken).ConfigureAwait(false);
    }

    public Task CompleteDeferredAsync<T>(DurableDeferred<T> deferred, T value, CancellationToken cancellationToken = default) =>
        CompleteAsync(deferred.WorkflowName, deferred.ExecutionId, deferred.Name, new DeferredExit(true, sharding.Serializer.Serialize(value), null), cancellationToken);

    public Task FailDeferredAsync<T>(DurableDeferred<T> deferred, string reason, CancellationToken cancellationToken = default) =>
        CompleteAsync(deferred.WorkflowName, deferred.ExecutionId, deferred.Name,
            new DeferredExit(false, null, new WorkflowError(typeof(WorkflowFailedException).FullName!, reason)), cancellationToken);

    public Task CompleteDeferredAsync<T>(string token, T value, CancellationToken cancellationToken = default)
    {
        var (workflowName, executionId, name) = DeferredToken.Parse(token);
        return CompleteAsync(workflowName, executionId, name, new DeferredExit(true, sharding.Serializer.Serialize(value), null), cancellationToken);
    }

    private async Task CompleteAsync(string workflowName, string executionId, string name, DeferredExit exit, CancellationToken cancellationToken)
    {
        var reply = await sharding.SendAsync<DeferredExit>(AddressOf(workflowName, executionId), RpcKind.Request,
            new WorkflowDeferredRequest(name, exit), cancellationToken).ConfigureAwait(false);
        if (reply.Rejected)
        {
            throw new WorkflowCompletedException(workflowName, executionId, name);
        }
    }

    private async Task<WorkflowResult?> ReadResultAsync(EntityAddress address, CancellationToken cancellationToken) =>
        (await WorkflowStorage.ReplyForKeyAsync<WorkflowResult>(sharding, address, WorkflowKeys.RunTag, string.Empty, cancellationToken).ConfigureAwait(false)).Reply;

    private EntityAddress AddressOf(string workflowName, string executionId) => WorkflowStorage.AddressOf(sharding, workflowName, executionId);

    internal TResult Decode<TResult>(string workflowName, string executionId, WorkflowResult result) => result.Succeeded
        ? sharding.Serializer.Deserialize<TResult>(result.Value)
        : throw ToException(workflowName, executionId, result.Error);

    internal static WorkflowFailedException ToException(string workflowName, string executionId, WorkflowError? error) => error switch
    {
        null => new WorkflowFailedException(workflowName, executionId, "unknown", "The workflow failed without a stored error."),
        { Interrupted: true } => new WorkflowInterruptedException(workflowName, executionId),
        _ => new WorkflowFailedException(workflowName, executionId, error.Type, error.Message),
    };
}
