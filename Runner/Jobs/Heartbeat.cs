using SocketRunnerAspire.Cluster.Cron;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.Runner.Jobs;

/// <summary>
/// Sample cron: once a minute, cluster-wide (not once per runner), increments the <c>heartbeat</c> counter entity,
/// so its value counts the minutes the cluster has been up. Each tick shows in the dashboard as a trace.
/// </summary>
public static class Heartbeat
{
    public const string Name = "heartbeat";

    public const string Schedule = "* * * * *";

    public static async Task RunAsync(CronContext tick, CancellationToken cancellationToken)
    {
        var value = await tick.Entities.GetEntity<Counter>("heartbeat").AskAsync(new Increment(1), cancellationToken);
        tick.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Heartbeat))
            .LogInformation("Heartbeat tick {Scheduled:O} on {Runner}: counter 'heartbeat' is now {Value}", tick.ScheduledAt, tick.Runner, value.Value);
    }
}
