using System.Buffers;
using System.Diagnostics.Tracing;
using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// Counts buffers rented from the message buffer pools (<see cref="MessageBufferPool"/>, which includes <see cref="ArrayPool{T}.Shared"/>) and not yet returned, on the calling thread,
/// from the runtime's ArrayPool event source. Events are raised on the renting thread, so a synchronous decoder
/// can be checked for leaks while other threads use the pool.
/// </summary>
public sealed class ArrayPoolLeakCounter : EventListener
{
    [ThreadStatic]
    private static int t_outstanding;

    private static readonly IReadOnlyList<int> BytePoolIds = MessageBufferPool.EventSourceIds;

    /// <summary>Byte buffers this thread rented and has not returned since it last reset the count.</summary>
    public static int Outstanding => t_outstanding;

    public static void Reset() => t_outstanding = 0;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "System.Buffers.ArrayPoolEventSource")
        {
            EnableEvents(eventSource, EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not ("BufferRented" or "BufferReturned") || e.Payload is null || e.PayloadNames is null)
        {
            return;
        }

        var pool = e.PayloadNames.IndexOf("poolId");
        if (pool < 0 || e.Payload[pool] is not int id || !BytePoolIds.Contains(id))
        {
            return;
        }

        t_outstanding += e.EventName == "BufferRented" ? 1 : -1;
    }
}
