using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// The durable workflow engine on the cluster (Effect's <c>ClusterWorkflowEngine</c>): each workflow a runner hosts is
/// the entity type <c>Workflow/{name}</c>, plus the durable clock, all in the shard group <c>workflow</c>. Everything
/// durable is a persisted entity message, so executions survive restarts and move with their shards.
/// </summary>
internal static partial class WorkflowEngine
{
    public static IReadOnlyList<EntityRegistration> Registrations(Sharding sharding, IReadOnlyCollection<WorkflowRegistration> workflows, ILogger logger)
    {
        if (workflows.Count == 0)
        {
            return [];
        }

        if (!sharding.Options.AvailableShardGroups.Contains(WorkflowKeys.ShardGroup, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"This runner hosts workflows, which live in the shard group '{WorkflowKeys.ShardGroup}': add it to Cluster:AvailableShardGroups on every node.");
        }

        if (!sharding.Options.AssignedShardGroups.Contains(WorkflowKeys.ShardGroup, StringComparer.Ordinal))
        {
            LogNotAssigned(logger, WorkflowKeys.ShardGroup);
        }

        var client = (WorkflowClient)sharding.Workflows;
        var registrations = new List<EntityRegistration>(workflows.Count + 1);
        foreach (var workflow in workflows)
        {
            var entity = new EntityDefinition<WorkflowEntity, WorkflowEntity>(WorkflowKeys.EntityType(workflow.Name), WorkflowKeys.ShardGroup,
                context => new WorkflowEntity(context, sharding, workflow, client, logger));
            entity
                .On<WorkflowRunRequest, WorkflowResult>((execution, request, ct) => execution.RunAsync(request, ct))
                .On<WorkflowActivityRequest, ActivityOutcome>((execution, request, ct) => execution.ActivityAsync(request, ct))
                .On<WorkflowDeferredRequest, DeferredExit>((execution, request, ct) => execution.DeferredAsync(request, ct))
                .On<WorkflowResumeRequest, bool>((execution, request, ct) => execution.ResumeAsync(request, ct))
                // The run waits for the activities it starts, which this same entity handles.
                .WithConcurrency(0);
            registrations.Add(entity);
        }

        registrations.Add(new EntityDefinition<DurableClockEntity, DurableClockEntity>(WorkflowKeys.ClockEntityType, WorkflowKeys.ShardGroup,
                context => new DurableClockEntity(context, sharding))
            .OnTell<DurableClockWake>((clock, wake, ct) => clock.WakeAsync(wake, ct))
            .WithConcurrency(0));
        return registrations;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "This runner hosts workflows but is not assigned the shard group '{Group}' (Cluster:AssignedShardGroups): no execution will run here")]
    private static partial void LogNotAssigned(ILogger logger, string group);
}
