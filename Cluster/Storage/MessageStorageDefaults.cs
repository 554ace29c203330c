namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>Fixed timings of MessageStorage implementations.</summary>
public static class MessageStorageDefaults
{
    /// <summary>
    /// A request handed out is not handed out again for this long unless its shard is reset (Effect's SQL
    /// storage: 10 minutes), so the poll loop of a live owner does not redeliver what it is still running.
    /// </summary>
    public static TimeSpan ReadLease { get; } = TimeSpan.FromMinutes(10);
}
