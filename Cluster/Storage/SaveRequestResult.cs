namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>Outcome of <see cref="IMessageStorage.SaveRequestAsync"/>.</summary>
public abstract record SaveRequestResult
{
    private SaveRequestResult()
    {
    }

    /// <summary>The request was saved.</summary>
    public sealed record Saved : SaveRequestResult
    {
        /// <summary>The one instance.</summary>
        public static Saved Instance { get; } = new();
    }

    /// <summary>A request with the same primary key exists.</summary>
    /// <param name="OriginalId">Its id.</param>
    /// <param name="LastReply">Its most recent reply (the final one once it completed), if any.</param>
    public sealed record Duplicate(long OriginalId, PersistedReply? LastReply) : SaveRequestResult;
}
