namespace SocketRunnerAspire.Cluster.Http;

/// <summary>
/// The messages of an entity contract: the types in the contract's assembly that implement
/// <c>IEntityRequest</c>, <c>IEntityStreamRequest</c> or <c>IEntityMessage</c> for it; found once per contract.
/// </summary>
internal static class EntityProxyCatalog<TContract>
{
    public static readonly IReadOnlyList<EntityProxyRpc> Rpcs = typeof(TContract).Assembly.GetTypes()
        .Select(EntityProxyRpc.For<TContract>)
        .OfType<EntityProxyRpc>()
        .OrderBy(rpc => rpc.Tag, StringComparer.Ordinal)
        .ToArray();
}
