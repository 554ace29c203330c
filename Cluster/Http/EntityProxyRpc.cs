using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Http;

/// <summary>One message of an entity contract as the HTTP proxy exposes it: its RPC tag, shape and reply type.</summary>
/// <param name="MessageType">The message (request body) type.</param>
/// <param name="Kind">Request → reply, request → stream, or tell.</param>
/// <param name="ReplyType">The reply (or stream item) type; null for a tell.</param>
/// <param name="Tag">The RPC tag, the last segment of the route.</param>
/// <param name="Persisted">Whether the message is persisted, and so takes an <c>Idempotency-Key</c>.</param>
internal sealed record EntityProxyRpc(Type MessageType, RpcKind Kind, Type? ReplyType, string Tag, bool Persisted)
{
    /// <summary>The RPC's message shape when <paramref name="type"/> is a message of <typeparamref name="TContract"/>, else null.</summary>
    public static EntityProxyRpc? For<TContract>(Type type)
    {
        if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters)
        {
            return null;
        }

        foreach (var contract in type.GetInterfaces())
        {
            if (!contract.IsGenericType || contract.GenericTypeArguments[0] != typeof(TContract))
            {
                continue;
            }

            var definition = contract.GetGenericTypeDefinition();
            var kind = definition == typeof(IEntityRequest<,>) ? RpcKind.Request
                : definition == typeof(IEntityStreamRequest<,>) ? RpcKind.Stream
                : definition == typeof(IEntityMessage<>) ? RpcKind.Tell
                : (RpcKind?)null;
            if (kind is { } shape)
            {
                var traits = MessageTraits.Of(type);
                return new EntityProxyRpc(type, shape, shape == RpcKind.Tell ? null : contract.GenericTypeArguments[1], traits.Tag, traits.Persisted);
            }
        }

        return null;
    }
}
