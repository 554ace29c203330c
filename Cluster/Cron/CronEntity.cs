using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>
/// The entity behind every cron schedule (one instance per schedule name): each tick first schedules the next
/// one, then runs the job, so a slow or failing job does not stop the schedule.
/// </summary>
[EntityName("ClusterCron")]
internal sealed class CronEntity(EntityContext context, Sharding sharding, IReadOnlyDictionary<string, CronRegistration> crons, TimeProvider time, ILogger logger)
{
    public static EntityRegistration Registration(Sharding sharding, IReadOnlyDictionary<string, CronRegistration> crons, TimeProvider time, ILogger logger)
    {
        var builder = new ClusterBuilder().AddEntity(context => new CronEntity(context, sharding, crons, time, logger),
            entity => entity.OnTell<CronTick>((cron, tick, ct) => cron.TickAsync(tick, ct)));
        return builder.Entities[0];
    }

    /// <summary>Schedules the first tick after now (a duplicate of an already scheduled tick is ignored by its primary key).</summary>
    public static Task ScheduleNextAsync(Sharding sharding, CronRegistration cron, DateTimeOffset after, CancellationToken cancellationToken) =>
        cron.NextAfter(after) is { } next
            ? sharding.GetEntity<CronEntity>(cron.Name).TellAsync(new CronTick(cron.Name, next.ToUnixTimeMilliseconds()), cancellationToken)
            : Task.CompletedTask;

    private async ValueTask TickAsync(CronTick tick, CancellationToken cancellationToken)
    {
        if (!crons.TryGetValue(tick.Name, out var cron))
        {
            logger.LogWarning("Cron tick for {Name}, which this runner does not know; ignored", tick.Name);
            return;
        }

        var scheduled = tick.DeliverAt;
        var now = time.GetUtcNow();
        await ScheduleNextAsync(sharding, cron, cron.Options.CalculateNextRunFromPrevious || scheduled > now ? scheduled : now, cancellationToken).ConfigureAwait(false);
        if (cron.Options.SkipIfOlderThan is { } limit && now - scheduled > limit)
        {
            logger.LogWarning("Cron {Name}: skipped the tick of {Scheduled:O}, {Late} late", cron.Name, scheduled, now - scheduled);
            return;
        }

        logger.LogInformation("Cron {Name}: running the tick of {Scheduled:O} on {Runner}", cron.Name, scheduled, context.Runner);
        try
        {
            await cron.Execute(new CronContext(cron.Name, scheduled, context.Runner, context.Services, sharding), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Cron {Name}: the tick of {Scheduled:O} failed", cron.Name, scheduled);
            throw;
        }
    }
}
