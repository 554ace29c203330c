namespace SocketRunnerAspire.Bench;

/// <summary>One of the compared systems as deployed for the run, seen through the processes it runs in.</summary>
public interface ISystemUnderTest : IAsyncDisposable
{
    /// <summary>
    /// <see cref="GC.GetTotalAllocatedBytes(bool)"/> summed over the load generator's process and every process of this
    /// system; only differences between two readings mean anything.
    /// </summary>
    ValueTask<long> AllocatedBytesAsync();

    /// <summary>Live managed memory after a full collection, summed over the same processes.</summary>
    ValueTask<long> ManagedBytesAsync();
}
