using System.Collections.Concurrent;
using System.Reflection;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>How a message type is sent: its RPC tag and whether it is persisted; read once per type and cached.</summary>
internal sealed record MessageTraits(string Tag, bool Persisted, bool Uninterruptible)
{
    private static readonly ConcurrentDictionary<Type, MessageTraits> Cache = new();

    public static MessageTraits Of(Type messageType) => Cache.GetOrAdd(messageType, static type =>
    {
        var persisted = type.GetCustomAttribute<PersistedAttribute>();
        if (persisted is null && (typeof(IPrimaryKey).IsAssignableFrom(type) || typeof(IDeliverAt).IsAssignableFrom(type)))
        {
            throw new InvalidOperationException($"{type.Name} has a primary key or delivery time but no [Persisted] attribute; only persisted messages are de-duplicated or delayed.");
        }

        return new MessageTraits(EntityNames.RpcTag(type), persisted is not null, persisted?.Uninterruptible ?? false);
    });
}
