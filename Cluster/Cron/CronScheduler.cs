using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Singletons;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>
/// ClusterCron's wiring: every schedule is the <see cref="CronEntity"/> that runs its ticks plus a singleton that keeps
/// the next tick scheduled. The tick chain schedules itself; the singleton keeps it alive across restarts and failures
/// by scheduling the next tick now and then (a tick already scheduled is a duplicate and ignored).
/// </summary>
internal static partial class CronScheduler
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMinutes(1);

    /// <summary>The entity and singletons that run <paramref name="crons"/>; nothing when there are none.</summary>
    public static (EntityRegistration? Entity, IReadOnlyList<SingletonRegistration> Singletons) Registrations(
        Sharding sharding, IEnumerable<CronRegistration> crons, TimeProvider time, ILogger logger)
    {
        var schedules = crons.ToDictionary(c => c.Name, StringComparer.Ordinal);
        if (schedules.Count == 0)
        {
            return (null, []);
        }

        var singletons = schedules.Values
            .Select(cron => new SingletonRegistration("cron:" + cron.Name, (_, ct) => KeepScheduledAsync(sharding, cron, time, logger, ct), cron.Options.ShardGroup))
            .ToArray();
        return (CronEntity.Registration(sharding, schedules, time, logger), singletons);
    }

    private static async Task KeepScheduledAsync(Sharding sharding, CronRegistration cron, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await CronEntity.ScheduleNextAsync(sharding, cron, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterException ex)
            {
                LogScheduleFailed(logger, ex, cron.Name);
            }

            await Task.Delay(CheckInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cron {Name}: scheduling the next tick failed; retrying")]
    private static partial void LogScheduleFailed(ILogger logger, Exception exception, string name);
}
