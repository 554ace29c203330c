using System.Buffers.Binary;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// Mutates byte strings the way a fuzzer does: bit flips, interesting bytes (MessagePack type markers),
/// length fields claiming huge sizes, truncation, insertion, deletion, duplication and trailing bytes.
/// </summary>
public static class ByteMutator
{
    /// <summary>MessagePack markers worth dropping anywhere: nil, the never-used 0xC1, bool, bin/str/array/map/ext headers, ints.</summary>
    private static readonly byte[] Interesting =
    [
        0x00, 0x01, 0x05, 0x7F, 0x80, 0x8F, 0x90, 0x95, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8,
        0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE,
        0xDF, 0xE0, 0xFF,
    ];

    /// <summary>Headers claiming a huge body: bin32, str32, array32, map32, ext32 of 0xFFFFFFFF / 0x7FFFFFFF, and 16-bit ones.</summary>
    private static readonly byte[][] HugeClaims =
    [
        [0xC6, 0xFF, 0xFF, 0xFF, 0xFF], [0xC6, 0x7F, 0xFF, 0xFF, 0xFF], [0xDB, 0xFF, 0xFF, 0xFF, 0xFF], [0xDB, 0x7F, 0xFF, 0xFF, 0xFF],
        [0xDD, 0xFF, 0xFF, 0xFF, 0xFF], [0xDD, 0x7F, 0xFF, 0xFF, 0xFF], [0xDF, 0xFF, 0xFF, 0xFF, 0xFF], [0xDF, 0x7F, 0xFF, 0xFF, 0xFF],
        [0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0xC9, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF], [0xC5, 0xFF, 0xFF], [0xDA, 0xFF, 0xFF],
        [0xDC, 0xFF, 0xFF], [0xDE, 0xFF, 0xFF], [0xC4, 0xFF], [0xD9, 0xFF],
    ];

    /// <summary>Applies 1 to 4 random mutations to a copy of <paramref name="input"/>.</summary>
    public static byte[] Mutate(Random random, ReadOnlySpan<byte> input)
    {
        var bytes = new List<byte>(input.Length + 16);
        foreach (var b in input)
        {
            bytes.Add(b);
        }

        var rounds = 1 + random.Next(4);
        for (var i = 0; i < rounds; i++)
        {
            MutateOnce(random, bytes);
        }

        return [.. bytes];
    }

    private static void MutateOnce(Random random, List<byte> bytes)
    {
        var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
        switch (random.Next(10))
        {
            case 0 when bytes.Count > 0: // flip a bit
                bytes[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when bytes.Count > 0: // an interesting byte
                bytes[at] = Interesting[random.Next(Interesting.Length)];
                break;
            case 2 when bytes.Count > 0: // a random byte
                bytes[at] = (byte)random.Next(256);
                break;
            case 3: // a header claiming gigabytes, overwriting or inserted
                var claim = HugeClaims[random.Next(HugeClaims.Length)];
                if (random.Next(2) == 0 && at + claim.Length <= bytes.Count)
                {
                    for (var k = 0; k < claim.Length; k++)
                    {
                        bytes[at + k] = claim[k];
                    }
                }
                else
                {
                    bytes.InsertRange(at, claim);
                }

                break;
            case 4 when bytes.Count > 0: // truncate
                bytes.RemoveRange(at, bytes.Count - at);
                break;
            case 5: // insert random bytes
                bytes.InsertRange(at, RandomBytes(random, 1 + random.Next(8)));
                break;
            case 6 when bytes.Count > 0: // delete a range
                bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(8)));
                break;
            case 7 when bytes.Count > 0: // duplicate a range
                var length = Math.Min(bytes.Count - at, 1 + random.Next(16));
                bytes.InsertRange(at, bytes.GetRange(at, length));
                break;
            case 8: // trailing bytes
                bytes.AddRange(RandomBytes(random, 1 + random.Next(8)));
                break;
            default: // a big-endian 16- or 32-bit boundary value somewhere (lengths, counts)
                var value = random.Next(6) switch
                {
                    0 => 0,
                    1 => -1,
                    2 => int.MaxValue,
                    3 => int.MinValue,
                    4 => 0x10000,
                    _ => random.Next(),
                };
                var word = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(word, value);
                if (at + 4 <= bytes.Count)
                {
                    for (var k = 0; k < 4; k++)
                    {
                        bytes[at + k] = word[k];
                    }
                }
                else
                {
                    bytes.InsertRange(at, word);
                }

                break;
        }
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
