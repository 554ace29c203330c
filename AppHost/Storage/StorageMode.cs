namespace SocketRunnerAspire.AppHost.Storage;

/// <summary>Which Redis-protocol server backs the cluster's RunnerStorage and MessageStorage.</summary>
public enum StorageMode
{
    /// <summary>The Redis container when a container runtime answers, otherwise Garnet.</summary>
    Auto,

    /// <summary>The Redis container (Aspire.Hosting.Redis); needs Docker or Podman.</summary>
    Container,

    /// <summary>Garnet hosted as a .NET project; needs nothing installed.</summary>
    Garnet,

    /// <summary>
    /// An existing Redis (or Redis-compatible) server: the connection string <c>ConnectionStrings:storage</c>
    /// from the AppHost's configuration or user secrets, e.g. <c>redis.internal:6379,password=...,ssl=true</c>.
    /// </summary>
    External,
}
