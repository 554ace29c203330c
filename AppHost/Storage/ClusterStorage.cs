namespace SocketRunnerAspire.AppHost.Storage;

/// <summary>
/// The cluster's storage as the rest of the AppHost sees it: a connection string named after the
/// storage, and the resource whose health says the server is up (none for an external server: the
/// runners' own health checks report it).
/// </summary>
public sealed record ClusterStorage(
    StorageMode Mode,
    IResourceBuilder<IResourceWithConnectionString> Connection,
    IResourceBuilder<IResource>? Server);
