using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// The durable clock (Effect's <c>Workflow/-/DurableClock</c> entity, one per execution id, in the execution's shard):
/// a sleep's wake-up is stored with its delivery time, and when storage delivers it this completes the sleep's deferred.
/// </summary>
internal sealed class DurableClockEntity(EntityContext context, Sharding sharding)
{
    public async ValueTask WakeAsync(DurableClockWake wake, CancellationToken cancellationToken)
    {
        // The execution shares this shard: once it starts moving the execution takes no messages here, and the wake-up,
        // still stored, is delivered again on the next owner.
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.StopRequested);
        await sharding.SendAsync<DeferredExit>(WorkflowStorage.AddressOf(sharding, wake.WorkflowName, wake.ExecutionId), RpcKind.Request,
            new WorkflowDeferredRequest(WorkflowKeys.Clock(wake.Name), new DeferredExit(true, null, null)), sending.Token).ConfigureAwait(false);
    }
}
