using System.Diagnostics;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Singletons;

namespace SocketRunnerAspire.Runner.Jobs;

/// <summary>
/// Sample singleton: exactly one runner of the cluster logs a summary of the cluster every 30 seconds. Stop that
/// runner (or let it die) and another one takes over.
/// </summary>
public static class ClusterReport
{
    public const string Name = "cluster-report";

    private static readonly ActivitySource Source = new("SocketRunnerAspire.Runner");

    public static async Task RunAsync(SingletonContext context, CancellationToken stop)
    {
        var logger = context.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClusterReport));
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30));
        do
        {
            using var activity = Source.StartActivity("cluster report");
            var runners = context.Sharding.Runners;
            logger.LogInformation("Cluster report from {Runner}: {Healthy} of {Runners} runners healthy, {Shards} shards assigned to this runner",
                context.Runner, runners.Count(r => r.Healthy), runners.Count, context.Sharding.OwnedShards.Count);
        }
        while (await timer.WaitForNextTickAsync(stop));
    }
}
