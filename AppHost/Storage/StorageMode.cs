namespace SocketRunnerAspire.AppHost.Storage;

/// <summary>Which server backs the cluster's RunnerStorage and MessageStorage: a Redis-protocol one, or PostgreSQL.</summary>
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

    /// <summary>
    /// An existing PostgreSQL server (no container: a local or remote one you run): the Npgsql connection string
    /// <c>ConnectionStrings:storage</c>, e.g. <c>Host=127.0.0.1;Port=5432;Username=cluster;Password=...;Database=cluster</c>.
    /// Runners and the client app are told <c>Cluster:Storage=Postgres</c> and keep the cluster in Effect's SQL tables.
    /// </summary>
    Postgres,
}
