using System.Collections.Concurrent;
using System.Reflection;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>Wire names of entity types and RPCs, read once per type and cached.</summary>
internal static class EntityNames
{
    private static readonly ConcurrentDictionary<Type, string> RpcTags = new();

    public static string RpcTag(Type messageType) =>
        RpcTags.GetOrAdd(messageType, static type => type.GetCustomAttribute<RpcNameAttribute>()?.Name ?? type.Name);

    public static class Of<TEntity>
    {
        private static readonly EntityNameAttribute? Attribute = typeof(TEntity).GetCustomAttribute<EntityNameAttribute>();

        public static readonly string Name = Attribute?.Name ?? typeof(TEntity).Name;

        public static readonly string ShardGroup = Attribute?.ShardGroup ?? ShardId.DefaultGroup;
    }
}
