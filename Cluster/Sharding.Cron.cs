using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Cron;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster;

// ClusterCron: the singleton half. The tick chain schedules itself; this keeps it alive across restarts and
// failures by scheduling the next tick now and then (a tick already scheduled is a duplicate and ignored).
public sealed partial class Sharding
{
    private static readonly TimeSpan CronCheckInterval = TimeSpan.FromMinutes(1);

    private async Task KeepCronScheduledAsync(CronRegistration cron, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await CronEntity.ScheduleNextAsync(this, cron, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterException ex)
            {
                LogCronScheduleFailed(_logger, ex, cron.Name);
            }

            await Task.Delay(CronCheckInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cron {Name}: scheduling the next tick failed; retrying")]
    private static partial void LogCronScheduleFailed(ILogger logger, Exception exception, string name);
}
