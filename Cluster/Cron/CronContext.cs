using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>One tick of a cron schedule, as its job sees it.</summary>
/// <param name="Name">The schedule's name.</param>
/// <param name="ScheduledAt">The tick's time.</param>
/// <param name="Runner">The runner executing it.</param>
/// <param name="Services">Services of the hosting process.</param>
/// <param name="Sharding">This runner's participant, for diagnostics (runners, owned shards); send with <see cref="Entities"/>.</param>
public sealed record CronContext(string Name, DateTimeOffset ScheduledAt, RunnerAddress? Runner, IServiceProvider Services, Sharding Sharding)
{
    /// <summary>The cluster, to send to entities.</summary>
    public IEntityClient Entities => Sharding;
}
