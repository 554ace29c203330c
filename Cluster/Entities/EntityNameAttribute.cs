using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Names an entity type on the wire (default: the class name) and, optionally, its shard group.
/// Runners and clients must agree on it.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class EntityNameAttribute(string name) : Attribute
{
    /// <summary>The entity type name.</summary>
    public string Name { get; } = name;

    /// <summary>The shard group of the entity type. Default <c>default</c>.</summary>
    public string ShardGroup { get; init; } = ShardId.DefaultGroup;
}

/// <summary>Names an RPC on the wire (default: the message class name).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class RpcNameAttribute(string name) : Attribute
{
    /// <summary>The RPC tag.</summary>
    public string Name { get; } = name;
}
