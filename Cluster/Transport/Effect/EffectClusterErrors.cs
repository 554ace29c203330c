using System.Text.Json;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The cluster errors of the <c>Runners.Rpcs</c> group (the RPCs' typed failures, Effect's <c>ClusterError</c>s) in their
/// JSON form: <c>{_tag:"EntityNotAssignedToRunner", address}</c>, <c>{_tag:"MailboxFull", address}</c>,
/// <c>{_tag:"AlreadyProcessingMessage", envelopeId, address}</c>. Effect senders retry or surface them by tag.
/// </summary>
internal static class EffectClusterErrors
{
    /// <summary>
    /// Whether <paramref name="exception"/> is one of the RPC-level errors. (A full entity cap is told as
    /// <c>MailboxFull</c>: Effect has no such error, and both mean "not now, on this runner".)
    /// </summary>
    public static bool IsRoutingError(Exception exception) =>
        exception is EntityNotAssignedToRunnerException or MailboxFullException or AlreadyProcessingMessageException or EntityCapacityExceededException;

    /// <summary>Writes the error of a routing exception.</summary>
    public static void Write(Utf8JsonWriter writer, Exception exception)
    {
        writer.WriteStartObject();
        switch (exception)
        {
            case EntityNotAssignedToRunnerException e:
                writer.WriteString("_tag"u8, "EntityNotAssignedToRunner"u8);
                WriteAddress(writer, e.Address);
                break;
            case MailboxFullException e:
                writer.WriteString("_tag"u8, "MailboxFull"u8);
                WriteAddress(writer, e.Address);
                break;
            case EntityCapacityExceededException e:
                writer.WriteString("_tag"u8, "MailboxFull"u8);
                WriteAddress(writer, e.Address);
                break;
            case AlreadyProcessingMessageException e:
                writer.WriteString("_tag"u8, "AlreadyProcessingMessage"u8);
                writer.WriteString("envelopeId"u8, e.EnvelopeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                WriteAddress(writer, e.Address);
                break;
            default:
                throw new ArgumentException($"{exception.GetType().Name} is not a runner RPC error.", nameof(exception));
        }

        writer.WriteEndObject();
    }

    /// <summary>An <c>EntityAddress</c> as Effect's JSON codec writes it: <c>{shardId:{group, id}, entityType, entityId}</c>.</summary>
    public static void WriteAddress(Utf8JsonWriter writer, EntityAddress address)
    {
        writer.WriteStartObject("address"u8);
        writer.WriteStartObject("shardId"u8);
        writer.WriteString("group"u8, address.ShardId.Group);
        writer.WriteNumber("id"u8, address.ShardId.Id);
        writer.WriteEndObject();
        writer.WriteString("entityType"u8, address.EntityType);
        writer.WriteString("entityId"u8, address.EntityId);
        writer.WriteEndObject();
    }
}
