using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SocketRunnerAspire.Cluster.Observability;

/// <summary>The library's ActivitySource and Meter (both named <see cref="Name"/>) and its instruments.</summary>
public static class ClusterDiagnostics
{
    /// <summary>Name of the ActivitySource and the Meter; subscribe to it in OpenTelemetry.</summary>
    public const string Name = "SocketRunnerAspire.Cluster";

    internal static readonly ActivitySource ActivitySource = new(Name);

    internal static readonly Meter Meter = new(Name);

    internal static readonly UpDownCounter<long> EntitiesActive =
        Meter.CreateUpDownCounter<long>("cluster.entities.active", description: "Entity instances alive on this runner.");

    internal static readonly Counter<long> MessagesProcessed =
        Meter.CreateCounter<long>("cluster.messages.processed", description: "Messages handled by entities on this runner.");

    internal static readonly Counter<long> MessagesFailed =
        Meter.CreateCounter<long>("cluster.messages.failed", description: "Messages whose handler threw or that could not be delivered.");

    internal static readonly Histogram<double> RequestDuration =
        Meter.CreateHistogram<double>("cluster.request.duration", unit: "ms", description: "Time from send to reply, as seen by the sender.");

    internal static readonly UpDownCounter<long> MailboxDepth =
        Meter.CreateUpDownCounter<long>("cluster.mailbox.depth", description: "Unreplied requests queued in entity mailboxes.");
}
