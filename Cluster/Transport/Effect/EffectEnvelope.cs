using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The payload of an <c>Envelope</c> (or <c>Notify</c>) RPC: <c>{envelope:{_tag, id, address, requestId, …}, persisted}</c>,
/// down to what this runner acts on.
/// </summary>
internal readonly record struct EffectEnvelope(EffectEnvelopeKind Kind, long RequestId, EntityAddress Address, bool Persisted);
