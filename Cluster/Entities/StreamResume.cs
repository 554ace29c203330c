namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Where a persisted stream continues (Effect's <c>Entity.Request</c> <c>lastSentChunk</c>, <c>lastSentChunkValue</c>
/// and <c>nextSequence</c>): given to handlers bound with the resume-aware
/// <see cref="EntityDefinition{TContract, TEntity}.OnStream{TRequest, TItem}(Func{TEntity, TRequest, StreamResume{TItem}, EntityContext, CancellationToken, IAsyncEnumerable{TItem}})"/>.
/// When a persisted stream's runner stopped after some items were saved, the next owner runs the handler again with
/// the last saved item; every item it yields is then new (sequence <see cref="NextSequence"/> onwards) and none is skipped.
/// A fresh stream, and every volatile one, starts at <see cref="Start"/>.
/// </summary>
/// <typeparam name="TItem">The stream's item type.</typeparam>
public sealed class StreamResume<TItem>
{
    internal StreamResume(int nextSequence, bool hasLastSent, TItem? lastSent)
    {
        NextSequence = nextSequence;
        HasLastSent = hasLastSent;
        LastSent = lastSent;
    }

    /// <summary>Nothing was sent yet: the handler starts from the beginning.</summary>
    public static StreamResume<TItem> Start { get; } = new(0, hasLastSent: false, default);

    /// <summary>The sequence of the next item the handler yields (0 for a fresh stream; the number of items already saved otherwise).</summary>
    public int NextSequence { get; }

    /// <summary>True when items were already saved (and delivered to the caller or kept for it) before this run.</summary>
    public bool HasLastSent { get; }

    /// <summary>The last item saved before this run (sequence <see cref="NextSequence"/> − 1); default when <see cref="HasLastSent"/> is false.</summary>
    public TItem? LastSent { get; }
}
