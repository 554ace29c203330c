using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Fuzzes <see cref="FrameCodec.TryRead"/> directly. CI runs 30,000 random + 40,000 mutated + 30,000 wrong-typed
/// = 100,000 random and mutated frames, plus 10,000 valid ones (all scaled by <c>FUZZ_ITERATIONS</c>), each split
/// across a multi-segment sequence at random points. The property: a frame (that decodes the same again after
/// re-encoding, and equals the input when the input was valid), "need more data" with the buffer untouched, or
/// <see cref="MalformedFrameException"/>; never another exception; every rented payload buffer returned.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class FrameCodecFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int MaxFrameSize = 64 * 1024;

    private static readonly FrameKind[] Kinds = Enum.GetValues<FrameKind>();

    private readonly ArrayPoolLeakCounter _pool = new();

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void RandomBytesAreMalformedOrIncompleteNeverAnotherError() => Run(nameof(RandomBytesAreMalformedOrIncompleteNeverAnotherError), 30_000, random =>
    {
        var bytes = ByteMutator.RandomBytes(random, random.Next(4) == 0 ? random.Next(2_000) : random.Next(64));
        if (bytes.Length > FrameCodec.LengthPrefixSize && random.Next(2) == 0)
        {
            // A plausible length prefix, so the random bytes reach the body decoder.
            BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - FrameCodec.LengthPrefixSize);
        }

        return bytes;
    });

    [Fact]
    public void MutatedFramesAreMalformedOrDecodeConsistently() => Run(nameof(MutatedFramesAreMalformedOrDecodeConsistently), 40_000, random =>
    {
        var frames = Encode(RandomFrame(random));
        if (random.Next(4) == 0)
        {
            frames = [.. frames, .. Encode(RandomFrame(random))];
        }

        return ByteMutator.Mutate(random, frames);
    });

    [Fact]
    public void FramesWithWrongFieldTypesAreMalformedOrDecodeConsistently() => Run(nameof(FramesWithWrongFieldTypesAreMalformedOrDecodeConsistently), 30_000, random =>
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var fields = random.Next(6) == 0 ? random.Next(8) : 5;
        writer.WriteArrayHeader(fields);
        for (var field = 0; field < fields; field++)
        {
            if (random.Next(3) == 0)
            {
                RandomMessagePack.WriteValue(random, ref writer);
                continue;
            }

            switch (field)
            {
                case 0: writer.Write((byte)Kinds[random.Next(Kinds.Length)]); break;
                case 1: writer.Write(random.NextInt64()); break;
                case 2: writer.Write((byte)random.Next(256)); break;
                case 3: writer.Write(RandomMessagePack.RandomString(random)); break;
                default: writer.Write(ByteMutator.RandomBytes(random, random.Next(64))); break;
            }
        }

        writer.Flush();
        var body = buffer.WrittenSpan;
        var frame = new byte[FrameCodec.LengthPrefixSize + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, random.Next(10) == 0 ? body.Length + random.Next(-3, 4) : body.Length);
        body.CopyTo(frame.AsSpan(FrameCodec.LengthPrefixSize));
        return frame;
    });

    [Fact]
    public void ValidFramesRoundTripAcrossAnySegmentation()
    {
        var count = FuzzSettings.Count(10_000);
        output.WriteLine(FuzzSettings.Describe(nameof(ValidFramesRoundTripAcrossAnySegmentation), count));
        var random = new Random(FuzzSettings.Seed);
        for (var i = 0; i < count; i++)
        {
            var frames = Enumerable.Range(0, 1 + random.Next(3)).Select(_ => RandomFrame(random)).ToArray();
            var bytes = frames.SelectMany(Encode).ToArray();
            var partial = random.Next(3) == 0 ? Encode(RandomFrame(random))[..^(1 + random.Next(4))] : [];
            var input = bytes.Concat(partial).ToArray();

            var decoded = Decode(input, random, i, out var rest);

            Assert.True(frames.SequenceEqual(decoded), Describe(i, input, "the decoded frames differ from the encoded ones"));
            Assert.True(rest == partial.Length, Describe(i, input, $"{rest} bytes left instead of the {partial.Length}-byte partial frame"));

            // Any strict prefix of a frame is "need more data", with the buffer left as it was.
            var first = Encode(frames[0]);
            var prefix = first[..random.Next(first.Length)];
            Assert.True(Decode(prefix, random, i, out var left).Count == 0 && left == prefix.Length, Describe(i, prefix, "a strict prefix decoded"));
        }
    }

    /// <summary>Found by the fuzzer: a str32/bin32 length of 2 GiB or more threw ArgumentOutOfRangeException out of the decoder.</summary>
    [Theory]
    [InlineData("meta str32 0xFFFFFFFF", new byte[] { 0x95, 0x02, 0x01, 0x00, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0xC0 })]
    [InlineData("meta str32 0x80000000", new byte[] { 0x95, 0x02, 0x01, 0x00, 0xDB, 0x80, 0x00, 0x00, 0x00, 0x41, 0xC0 })]
    [InlineData("payload bin32 0xFFFFFFFF", new byte[] { 0x95, 0x02, 0x01, 0x00, 0xC0, 0xC6, 0xFF, 0xFF, 0xFF, 0xFF, 0x41 })]
    [InlineData("payload bin32 0x7FFFFFFF", new byte[] { 0x95, 0x02, 0x01, 0x00, 0xC0, 0xC6, 0x7F, 0xFF, 0xFF, 0xFF, 0x41 })]
    [InlineData("array32 0xFFFFFFFF", new byte[] { 0xDD, 0xFF, 0xFF, 0xFF, 0xFF, 0x02 })]
    public void LengthsClaimingGigabytesAreMalformed(string name, byte[] body)
    {
        var frame = new byte[FrameCodec.LengthPrefixSize + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, FrameCodec.LengthPrefixSize);
        var sequence = new ReadOnlySequence<byte>(frame);

        var error = Record.Exception(() => FrameCodec.TryRead(ref sequence, MaxFrameSize, out _));

        Assert.True(error is MalformedFrameException, $"{name}: {error?.GetType().Name ?? "no exception"}");
    }

    [Fact]
    public void TheLeakCounterSeesAFrameThatIsNotDisposed()
    {
        // The leak check above must be able to fail: an undisposed frame is one outstanding buffer.
        ArrayPoolLeakCounter.Reset();
        var sequence = new ReadOnlySequence<byte>(Encode(new TestFrame(FrameKind.Request, 1, 0, null, [1, 2, 3])));

        Assert.True(FrameCodec.TryRead(ref sequence, MaxFrameSize, out var frame));
        Assert.Equal(1, ArrayPoolLeakCounter.Outstanding);
        frame.Dispose();
        Assert.Equal(0, ArrayPoolLeakCounter.Outstanding);
    }

    private void Run(string test, int ciCount, Func<Random, byte[]> generate)
    {
        var count = FuzzSettings.Count(ciCount);
        output.WriteLine(FuzzSettings.Describe(test, count));
        var random = new Random(FuzzSettings.Seed);
        var outcomes = new int[3];
        for (var i = 0; i < count; i++)
        {
            var input = generate(random);
            try
            {
                var frames = Decode(input, random, i, out _);
                outcomes[frames.Count > 0 ? 0 : 1]++;
            }
            catch (MalformedFrameException)
            {
                outcomes[2]++;
                Assert.True(ArrayPoolLeakCounter.Outstanding == 0, Describe(i, input, $"{ArrayPoolLeakCounter.Outstanding} payload buffers not returned after a malformed frame"));
            }
        }

        output.WriteLine($"decoded: {outcomes[0]:N0}, need more data: {outcomes[1]:N0}, malformed: {outcomes[2]:N0}");
    }

    /// <summary>
    /// Reads frames off a randomly segmented sequence over <paramref name="input"/> until "need more data"; every
    /// frame is checked and disposed. Throws <see cref="MalformedFrameException"/> through; any other exception fails.
    /// </summary>
    private static List<TestFrame> Decode(byte[] input, Random random, int iteration, out long rest)
    {
        var sequence = SegmentedSequence.Split(random, input);
        var frames = new List<TestFrame>();
        ArrayPoolLeakCounter.Reset();
        try
        {
            while (true)
            {
                var before = sequence;
                if (!FrameCodec.TryRead(ref sequence, MaxFrameSize, out var frame))
                {
                    Assert.True(sequence.Start.Equals(before.Start) && sequence.Length == before.Length, Describe(iteration, input, "\"need more data\" moved the buffer"));
                    rest = sequence.Length;
                    Assert.True(ArrayPoolLeakCounter.Outstanding == 0, Describe(iteration, input, "a payload buffer was not returned"));
                    return frames;
                }

                TestFrame decoded;
                try
                {
                    Assert.True(before.Length - sequence.Length > FrameCodec.LengthPrefixSize, Describe(iteration, input, "a frame consumed no body"));
                    decoded = TestFrame.From(frame);
                }
                finally
                {
                    frame.Dispose();
                }

                // What the decoder accepted must be a frame it can send and read back as the same frame.
                var again = new ReadOnlySequence<byte>(Encode(decoded));
                Assert.True(FrameCodec.TryRead(ref again, MaxFrameSize, out var reread), Describe(iteration, input, "a decoded frame does not re-encode"));
                using (reread)
                {
                    Assert.True(decoded.Equals(TestFrame.From(reread)), Describe(iteration, input, "a decoded frame reads back differently"));
                }

                frames.Add(decoded);
            }
        }
        catch (Exception ex) when (ex is not MalformedFrameException and not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException(Describe(iteration, input, $"threw {ex.GetType().Name} instead of MalformedFrameException: {ex}"));
        }
    }

    private static TestFrame RandomFrame(Random random)
    {
        var payload = random.Next(4) switch
        {
            0 => null,
            1 => [],
            2 => ByteMutator.RandomBytes(random, random.Next(1_000, 8_000)),
            _ => ByteMutator.RandomBytes(random, random.Next(100)),
        };
        var meta = random.Next(3) == 0 ? null : "00-" + Convert.ToHexString(ByteMutator.RandomBytes(random, random.Next(30))) + "-é✓";
        var id = random.Next(3) == 0 ? random.Next(10) : random.NextInt64(long.MinValue, long.MaxValue);
        return new TestFrame(Kinds[random.Next(Kinds.Length)], id, (byte)random.Next(256), meta, payload);
    }

    private static byte[] Encode(TestFrame frame)
    {
        var output = new ArrayBufferWriter<byte>();
        FrameCodec.Write(output, new ArrayBufferWriter<byte>(), frame.Kind, frame.RequestId, frame.Flags, frame.Meta, frame.Payload, frame.Payload is not null);
        return output.WrittenSpan.ToArray();
    }

    private static string Describe(int iteration, byte[] input, string problem) =>
        $"Input {iteration} (seed {FuzzSettings.Seed}, FUZZ_SEED={FuzzSettings.Seed} replays it): {problem}. Bytes: {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 512)))}{(input.Length > 512 ? "…" : "")}";

    /// <summary>A frame's content, comparable (a <see cref="Frame"/> holds a pooled buffer). An empty payload equals none.</summary>
    private sealed record TestFrame(FrameKind Kind, long RequestId, byte Flags, string? Meta, byte[]? Payload)
    {
        public static TestFrame From(Frame frame) => new(frame.Kind, frame.RequestId, frame.Flags, frame.Meta, frame.Payload.IsEmpty ? null : frame.Payload.ToArray());

        public bool Equals(TestFrame? other) => other is not null && Kind == other.Kind && RequestId == other.RequestId && Flags == other.Flags
            && Meta == other.Meta && (Payload ?? []).AsSpan().SequenceEqual(other.Payload ?? []);

        public override int GetHashCode() => HashCode.Combine(Kind, RequestId, Flags, Meta);
    }
}
