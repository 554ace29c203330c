using System.Diagnostics;
using System.Diagnostics.Metrics;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Observability;

/// <summary>The library's ActivitySource and Meter (both named <see cref="Name"/>) and its instruments.</summary>
public static class ClusterDiagnostics
{
    /// <summary>Name of the ActivitySource and the Meter; subscribe to it in OpenTelemetry.</summary>
    public const string Name = "SocketRunnerAspire.Cluster";

    /// <summary>Span and metric attribute: the entity type (also <c>rpc.service</c> on spans).</summary>
    public const string EntityTypeTag = "cluster.entity.type";

    /// <summary>Span attribute: the entity id.</summary>
    public const string EntityIdTag = "cluster.entity.id";

    /// <summary>Span attribute: the entity's shard, as <c>group:number</c>.</summary>
    public const string ShardTag = "cluster.shard";

    /// <summary>Span and metric attribute: the RPC (the message's tag; also <c>rpc.method</c> on spans).</summary>
    public const string RpcTag = "cluster.rpc";

    /// <summary>Span attribute: the runner that recorded the span (<c>client</c> on a client-only node).</summary>
    public const string RunnerTag = "cluster.runner";

    /// <summary>Metric attribute of <c>cluster.runners</c>: whether the runners counted are healthy.</summary>
    public const string RunnerHealthyTag = "cluster.runner.healthy";

    /// <summary>Span attribute of a send: the runner it was delivered to.</summary>
    public const string TargetRunnerTag = "cluster.target.runner";

    internal static readonly ActivitySource ActivitySource = new(Name);

    internal static readonly Meter Meter = new(Name);

    internal static readonly UpDownCounter<long> EntitiesActive =
        Meter.CreateUpDownCounter<long>("cluster.entities.active", description: "Entity instances alive on this runner.");

    internal static readonly Counter<long> CapEvictions =
        Meter.CreateCounter<long>("cluster.entities.cap_evictions", description: "Idle entity instances passivated to make room under Cluster:MaxResidentEntities.");

    internal static readonly Counter<long> MessagesProcessed =
        Meter.CreateCounter<long>("cluster.messages.processed", description: "Messages handled by entities on this runner.");

    internal static readonly Counter<long> MessagesFailed =
        Meter.CreateCounter<long>("cluster.messages.failed", description: "Messages whose handler threw or that could not be delivered.");

    internal static readonly Counter<long> EntityRestarts =
        Meter.CreateCounter<long>("cluster.entity.restarts", description: "Entity instances rebuilt after a handler defect, by entity type.");

    internal static readonly Histogram<double> RequestDuration =
        Meter.CreateHistogram<double>("cluster.request.duration", unit: "ms", description: "Time from send to reply, as seen by the sender.");

    internal static readonly UpDownCounter<long> MailboxDepth =
        Meter.CreateUpDownCounter<long>("cluster.mailbox.depth", description: "Unreplied requests queued in entity mailboxes.");

    /// <summary>The attributes every send and handle span carries, in the cluster's and OpenTelemetry's RPC vocabulary.</summary>
    internal static void TagEntityCall(Activity activity, EntityAddress address, string rpc, string runner)
    {
        activity.SetTag(EntityTypeTag, address.EntityType);
        activity.SetTag(EntityIdTag, address.EntityId);
        activity.SetTag(ShardTag, address.ShardId.ToString());
        activity.SetTag(RpcTag, rpc);
        activity.SetTag(RunnerTag, runner);
        activity.SetTag("rpc.system", "socketrunner");
        activity.SetTag("rpc.service", address.EntityType);
        activity.SetTag("rpc.method", rpc);
    }
}
