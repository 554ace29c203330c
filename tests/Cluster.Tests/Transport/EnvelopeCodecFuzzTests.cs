using System.Buffers;
using MessagePack;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport;
using Xunit.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport;

/// <summary>
/// Fuzzes the message deserializers a runner applies to a request frame's payload: <see cref="EnvelopeCodec"/>
/// (20,000 inputs in CI), <see cref="PersistedEnvelopeCodec"/> (5,000) and message payloads through
/// <see cref="ClusterSerializer"/> (20,000), all scaled by <c>FUZZ_ITERATIONS</c>. The property: a value that
/// round-trips, or <see cref="MalformedMessageException"/>; never another exception, and no input allocates more
/// than <see cref="AllocationBound"/> (a length field claiming gigabytes must not be believed).
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class EnvelopeCodecFuzzTests(ITestOutputHelper output)
{
    /// <summary>The most one decode of an input of at most a few KiB may allocate.</summary>
    private const long AllocationBound = 1024 * 1024;

    [Fact]
    public void MutatedEnvelopesAreMalformedOrRoundTrip() => Run(nameof(MutatedEnvelopesAreMalformedOrRoundTrip), 20_000, random => random.Next(10) switch
    {
        0 => ByteMutator.RandomBytes(random, random.Next(80)),
        < 4 => WrongTypedEnvelope(random),
        _ => ByteMutator.Mutate(random, EnvelopeCodec.Encode(RandomEnvelope(random))),
    }, bytes =>
    {
        var envelope = EnvelopeCodec.Decode(bytes);
        var again = EnvelopeCodec.Decode(EnvelopeCodec.Encode(envelope));
        return Same(envelope, again) ? null : "a decoded envelope reads back differently";
    });

    [Fact]
    public void ValidEnvelopesRoundTrip()
    {
        var random = new Random(FuzzSettings.Seed);
        for (var i = 0; i < FuzzSettings.Count(2_000); i++)
        {
            var envelope = RandomEnvelope(random);
            Assert.True(Same(envelope, EnvelopeCodec.Decode(EnvelopeCodec.Encode(envelope))), $"envelope {i} (seed {FuzzSettings.Seed})");
        }
    }

    [Fact]
    public void MutatedPersistedEnvelopesAreMalformedOrRoundTrip() => Run(nameof(MutatedPersistedEnvelopesAreMalformedOrRoundTrip), 5_000, random =>
    {
        PersistedEnvelope valid = random.Next(2) == 0
            ? new PersistedEnvelope.AckChunk(random.NextInt64(), random.Next())
            : new PersistedEnvelope.Interrupt(random.NextInt64());
        return random.Next(4) == 0 ? RandomArray(random, 3) : ByteMutator.Mutate(random, PersistedEnvelopeCodec.Encode(valid));
    }, bytes =>
    {
        var envelope = PersistedEnvelopeCodec.Decode(bytes);
        return envelope == PersistedEnvelopeCodec.Decode(PersistedEnvelopeCodec.Encode(envelope)) ? null : "a decoded envelope reads back differently";
    });

    /// <summary>Message types as entities declare them: records with strings, ints, dates, collections and nesting.</summary>
    private static readonly (string Name, Func<Random, byte[]> Valid, Func<byte[], object?> Deserialize)[] Messages =
    [
        Message(r => new Increment(r.Next())),
        Message(r => new CountTo(r.Next(100))),
        Message(r => new Fail(RandomMessagePack.RandomString(r))),
        Message(r => new Deposit(RandomMessagePack.RandomString(r), r.Next())),
        Message(r => new RecordAt(RandomMessagePack.RandomString(r), DateTimeOffset.UnixEpoch.AddSeconds(r.Next()))),
        Message(r => new Batch([.. Enumerable.Range(0, r.Next(5)).Select(i => $"item-{i}")], new Dictionary<string, int> { ["a"] = r.Next() }, [1, 2, 3], new Increment(r.Next()))),
        Message(r => RandomMessagePack.RandomString(r)),
        Message(r => r.NextInt64()),
        Message(r => Enumerable.Range(0, r.Next(20)).ToArray()),
    ];

    [Fact]
    public void MutatedMessagePayloadsAreMalformedOrRoundTrip() => Run(nameof(MutatedMessagePayloadsAreMalformedOrRoundTrip), 20_000, random =>
    {
        var message = Messages[random.Next(Messages.Length)];
        var bytes = random.Next(5) == 0 ? RandomMessagePack.Value(random) : ByteMutator.Mutate(random, message.Valid(random));
        return [(byte)Array.IndexOf(Messages, message), .. bytes]; // the first byte picks the type
    }, input =>
    {
        var message = Messages[input[0]];
        var value = message.Deserialize(input[1..]);
        return value is null || message.Deserialize(ClusterSerializer.Default.SerializeObject(value)) is { } again && Same(value, again)
            ? null
            : $"a decoded {message.Name} reads back differently";
    });

    /// <summary>Found by the fuzzer: an entity type (or id, group, tag) claiming a str32 length of 2 GiB or more threw ArgumentOutOfRangeException.</summary>
    [Theory]
    [InlineData(new byte[] { 0x9A, 0x01, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41 })]
    [InlineData(new byte[] { 0x9A, 0x01, 0xA1, 0x41, 0xA1, 0x42, 0xDB, 0x80, 0x00, 0x00, 0x00, 0x41 })]
    public void AStringClaimingGigabytesIsMalformed(byte[] envelope)
    {
        Assert.Throws<MalformedMessageException>(() => EnvelopeCodec.Decode(envelope));
    }

    [Fact]
    public void BytesAfterAnEnvelopeOrMessageAreMalformed()
    {
        var envelope = EnvelopeCodec.Encode(new Envelope(1, new EntityAddress("Counter", "c", new ShardId("default", 1)), "Increment", RpcKind.Request, new byte[] { 1 }, null, null));
        var persisted = PersistedEnvelopeCodec.Encode(new PersistedEnvelope.AckChunk(1, 2));
        var message = ClusterSerializer.Default.Serialize(new Increment(1));

        Assert.Throws<MalformedMessageException>(() => EnvelopeCodec.Decode((byte[])[.. envelope, 0xC0]));
        Assert.Throws<MalformedMessageException>(() => PersistedEnvelopeCodec.Decode((byte[])[.. persisted, 0x01]));
        Assert.Throws<MalformedMessageException>(() => ClusterSerializer.Default.Deserialize<Increment>((byte[])[.. message, 0x01]));
        Assert.Equal(new Increment(1), ClusterSerializer.Default.Deserialize<Increment>(message));
    }

    [Fact]
    public void ANilMessageIsMalformedWhileANilReplyIsNull()
    {
        byte[] nil = [0xC0];

        Assert.Throws<MalformedMessageException>(() => ClusterSerializer.Default.DeserializeMessage<Increment>(nil));
        Assert.Null(ClusterSerializer.Default.Deserialize<string?>(nil));
    }

    private void Run(string test, int ciCount, Func<Random, byte[]> generate, Func<byte[], string?> decode)
    {
        var count = FuzzSettings.Count(ciCount);
        output.WriteLine(FuzzSettings.Describe(test, count));
        var random = new Random(FuzzSettings.Seed);
        var (decoded, malformed, mostAllocated) = (0, 0, 0L);
        for (var i = 0; i < count; i++)
        {
            var input = generate(random);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                if (decode(input) is { } problem)
                {
                    Assert.Fail(Describe(i, input, problem));
                }

                decoded++;
            }
            catch (MalformedMessageException)
            {
                malformed++;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail(Describe(i, input, $"threw {ex.GetType().Name} instead of MalformedMessageException: {ex}"));
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            mostAllocated = Math.Max(mostAllocated, allocated);
            Assert.True(allocated <= AllocationBound, Describe(i, input, $"allocated {allocated:N0} bytes"));
        }

        output.WriteLine($"decoded: {decoded:N0}, malformed: {malformed:N0}, most allocated by one input: {mostAllocated:N0} bytes");
    }

    private static Envelope RandomEnvelope(Random random) => new(
        random.NextInt64(),
        new EntityAddress(random.Next(2) == 0 ? "Counter" : ValidString(random), $"e-{random.Next()}", new ShardId("default", random.Next(1, 301))),
        random.Next(2) == 0 ? "Increment" : ValidString(random),
        (RpcKind)random.Next(3),
        ByteMutator.RandomBytes(random, random.Next(4) == 0 ? random.Next(2_000) : random.Next(40)),
        random.Next(2) == 0 ? null : $"00-{Convert.ToHexString(ByteMutator.RandomBytes(random, 16))}-{Convert.ToHexString(ByteMutator.RandomBytes(random, 8))}-01",
        random.Next(2) == 0 ? null : "k=v");

    /// <summary>Well-formed UTF-16 (a lone surrogate is a valid .NET string but not valid UTF-8, so it cannot round-trip).</summary>
    private static string ValidString(Random random) => random.Next(3) switch
    {
        0 => string.Empty,
        1 => new string('é', random.Next(1, 100)),
        _ => Convert.ToBase64String(ByteMutator.RandomBytes(random, random.Next(1, 20))) + "✓",
    };

    /// <summary>A 10-element array whose fields are each, now and then, a random MessagePack value of any type.</summary>
    private static byte[] WrongTypedEnvelope(Random random)
    {
        var valid = EnvelopeCodec.Encode(RandomEnvelope(random));
        var reader = new MessagePackReader(valid);
        var fields = reader.ReadArrayHeader();
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(fields);
        for (var i = 0; i < fields; i++)
        {
            var field = reader.ReadRaw();
            if (random.Next(4) == 0)
            {
                RandomMessagePack.WriteValue(random, ref writer);
            }
            else
            {
                writer.WriteRaw(field);
            }
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] RandomArray(Random random, int fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(fields);
        for (var i = 0; i < fields; i++)
        {
            RandomMessagePack.WriteValue(random, ref writer);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static bool Same(Envelope a, Envelope b) => a with { Payload = default } == b with { Payload = default } && a.Payload.Span.SequenceEqual(b.Payload.Span);

    private static bool Same(object a, object b) =>
        ClusterSerializer.Default.SerializeObject(a).AsSpan().SequenceEqual(ClusterSerializer.Default.SerializeObject(b));

    private static (string, Func<Random, byte[]>, Func<byte[], object?>) Message<T>(Func<Random, T> valid) =>
        (typeof(T).Name, r => ClusterSerializer.Default.Serialize(valid(r)), bytes => ClusterSerializer.Default.Deserialize<T>(bytes));

    private static string Describe(int iteration, byte[] input, string problem) =>
        $"Input {iteration} (seed {FuzzSettings.Seed}, FUZZ_SEED={FuzzSettings.Seed} replays it): {problem}. Bytes: {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 512)))}{(input.Length > 512 ? "…" : "")}";

    public sealed record Batch(List<string> Items, Dictionary<string, int> Totals, int[] Codes, Increment Nested);
}
