using System.Buffers;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/> over bytes, split at random points (empty segments included).</summary>
public static class SegmentedSequence
{
    public static ReadOnlySequence<byte> Split(Random random, byte[] bytes)
    {
        var cuts = random.Next(5) == 0 ? 0 : 1 + random.Next(Math.Min(6, bytes.Length + 1));
        var points = new List<int> { 0, bytes.Length };
        for (var i = 0; i < cuts; i++)
        {
            points.Add(random.Next(bytes.Length + 1)); // duplicates make empty segments
        }

        points.Sort();
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i + 1 < points.Count; i++)
        {
            // Each segment gets its own array so a read past a segment's end cannot see the next one's bytes.
            var memory = bytes.AsSpan(points[i], points[i + 1] - points[i]).ToArray();
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
