namespace SocketRunnerAspire.Cluster.Registrations;

/// <summary>
/// Something was registered on this runner (Effect's <c>ShardingRegistrationEvent</c>): an entity type
/// (<see cref="EntityRegistered"/>) or a singleton (<see cref="SingletonRegistered"/>). Read them from
/// <see cref="Sharding.RegistrationEvents"/>.
/// </summary>
public abstract record ClusterRegistrationEvent;
