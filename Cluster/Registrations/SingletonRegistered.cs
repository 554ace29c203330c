using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Registrations;

/// <summary>
/// This runner may run the singleton <paramref name="Name"/>: it does while it holds <paramref name="Shard"/>
/// (Effect's <c>SingletonRegistered{address}</c>).
/// </summary>
/// <param name="Name">The singleton's name.</param>
/// <param name="Shard">The shard its name hashes to.</param>
public sealed record SingletonRegistered(string Name, ShardId Shard) : ClusterRegistrationEvent;
