using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>A persisted message with this id is already being processed.</summary>
public sealed class AlreadyProcessingMessageException(EntityAddress address, long envelopeId) : ClusterException($"Entity {address} is already processing message {envelopeId}.")
{
    /// <summary>What the error is about.</summary>
    public EntityAddress Address { get; } = address;

    /// <summary>The id of the message already being processed (0 when the error came from a peer that does not say).</summary>
    public long EnvelopeId { get; } = envelopeId;
}
