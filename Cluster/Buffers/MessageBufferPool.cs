using System.Buffers;

namespace SocketRunnerAspire.Cluster.Buffers;

/// <summary>
/// The arrays that encoded messages live in between encoding and sending, and between receiving and decoding.
/// Message-sized arrays (up to <see cref="SmallLimit"/>) come from a pool of its own that keeps thousands per size:
/// <see cref="ArrayPool{T}.Shared"/> keeps a few dozen per size and core, fewer than the buffers in flight at a few
/// hundred concurrent requests, and allocates past that. Larger arrays come from the shared pool, so that a burst of
/// large messages is not kept.
/// </summary>
internal static class MessageBufferPool
{
    private const int SmallLimit = 4096;
    private static readonly ArrayPool<byte> Small = ArrayPool<byte>.Create(SmallLimit, maxArraysPerBucket: 4096);

    /// <summary>The ids the pools report in <c>System.Buffers.ArrayPoolEventSource</c> events (for leak checks).</summary>
    internal static IReadOnlyList<int> EventSourceIds { get; } = [Small.GetHashCode(), ArrayPool<byte>.Shared.GetHashCode()];

    public static byte[] Rent(int minimumLength) =>
        minimumLength <= SmallLimit ? Small.Rent(minimumLength) : ArrayPool<byte>.Shared.Rent(minimumLength);

    public static void Return(byte[] array)
    {
        if (array.Length <= SmallLimit)
        {
            Small.Return(array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
