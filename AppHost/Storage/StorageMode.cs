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
}
