using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>
/// One scheduled tick of a cron, delivered to the cron's entity at its time. Persisted with the tick time as
/// primary key, so however often it is scheduled (by the singleton and by the previous tick) it runs once.
/// Public only so the serializer can read it.
/// </summary>
[Persisted]
[RpcName("ClusterCron.Tick")]
public sealed record CronTick(string Name, long ScheduledAtMs) : IEntityMessage<CronEntity>, IPrimaryKey, IDeliverAt
{
    /// <inheritdoc />
    public string PrimaryKey => ScheduledAtMs.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public DateTimeOffset DeliverAt => DateTimeOffset.FromUnixTimeMilliseconds(ScheduledAtMs);
}
