namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>A singleton with this name is already registered on the runner (Effect: a defect); the first registration stands.</summary>
public sealed class AlreadyRegisteredException(string name)
    : ClusterException($"Singleton '{name}' is already registered on this runner.")
{
    /// <summary>The name registered twice.</summary>
    public string Name { get; } = name;
}
