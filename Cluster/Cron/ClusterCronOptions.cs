using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>Options of a <see cref="ClusterBuilder.AddCron"/> schedule (Effect's <c>ClusterCron.make</c> options).</summary>
public sealed class ClusterCronOptions
{
    /// <summary>Time zone the expression is evaluated in. Default UTC.</summary>
    public TimeZoneInfo TimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>
    /// Compute the next tick from the previous tick (catching up on missed ones) instead of from now.
    /// Default false, as in Effect.
    /// </summary>
    public bool CalculateNextRunFromPrevious { get; set; }

    /// <summary>A tick delivered later than this after its time is skipped (not executed). Default 1 day, as in Effect; null never skips.</summary>
    public TimeSpan? SkipIfOlderThan { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The shard group of the cron's entity and singleton. Default <c>default</c>.</summary>
    public string ShardGroup { get; set; } = ShardId.DefaultGroup;
}
