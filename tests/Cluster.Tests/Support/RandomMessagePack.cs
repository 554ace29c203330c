using System.Buffers;
using MessagePack;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Writes random MessagePack values of every type, for structure-aware fuzzing (a field of the wrong type).</summary>
public static class RandomMessagePack
{
    public static void WriteValue(Random random, ref MessagePackWriter writer, int depth = 0)
    {
        switch (random.Next(depth > 2 ? 12 : 14))
        {
            case 0: writer.WriteNil(); break;
            case 1: writer.Write(random.Next(2) == 0); break;
            case 2: writer.Write(random.Next(-40, 300)); break;
            case 3: writer.Write(random.NextInt64(long.MinValue, long.MaxValue)); break;
            case 4: writer.Write(ulong.MaxValue - (ulong)random.Next(3)); break;
            case 5: writer.Write(random.NextDouble()); break;
            case 6: writer.Write((float)random.NextDouble()); break;
            case 7: writer.Write(RandomString(random)); break;
            case 8: writer.Write(ByteMutator.RandomBytes(random, random.Next(40))); break;
            case 9: writer.WriteExtensionFormat(new ExtensionResult((sbyte)random.Next(-128, 128), ByteMutator.RandomBytes(random, random.Next(10)))); break;
            case 10: writer.Write(DateTime.UnixEpoch.AddSeconds(random.Next())); break;
            case 11: writer.Write(byte.MaxValue); break;
            case 12:
                var count = random.Next(4);
                writer.WriteArrayHeader(count);
                for (var i = 0; i < count; i++)
                {
                    WriteValue(random, ref writer, depth + 1);
                }

                break;
            default:
                var pairs = random.Next(3);
                writer.WriteMapHeader(pairs);
                for (var i = 0; i < pairs; i++)
                {
                    WriteValue(random, ref writer, depth + 1);
                    WriteValue(random, ref writer, depth + 1);
                }

                break;
        }
    }

    public static byte[] Value(Random random)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        WriteValue(random, ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static string RandomString(Random random) => random.Next(4) switch
    {
        0 => string.Empty,
        1 => new string('x', random.Next(1, 300)),
        2 => "\uD800 lone surrogate",
        _ => Convert.ToBase64String(ByteMutator.RandomBytes(random, random.Next(1, 20))),
    };
}
