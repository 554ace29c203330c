using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>A persisted message with this id is already being processed.</summary>
public sealed class AlreadyProcessingMessageException(EntityAddress address, long envelopeId) : ClusterException($"Entity {address} is already processing message {envelopeId}.")
{
    /// <summary>What the error is about.</summary>
    public EntityAddress Address { get; } = address;
}
