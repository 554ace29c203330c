namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Marks an RPC (its message type) persisted (Effect's <c>ClusterSchema.Persisted</c>): the message is saved in
/// MessageStorage before delivery, delivered at least once (also after the owner dies or the shard moves), and
/// de-duplicated when it implements <see cref="IPrimaryKey"/>. Senders and runners must agree, which they do
/// because both use the message type.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class PersistedAttribute : Attribute
{
    /// <summary>
    /// When true, a caller that stops waiting (cancels) does not interrupt the handler (Effect's
    /// <c>ClusterSchema.Uninterruptible</c>); otherwise the cancellation is saved as an interrupt and the
    /// owner stops the handler. Default false.
    /// </summary>
    public bool Uninterruptible { get; init; }
}
