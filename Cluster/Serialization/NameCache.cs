using System.Collections.Concurrent;
using System.Text;
using MessagePack;

namespace SocketRunnerAspire.Cluster.Serialization;

/// <summary>
/// Reads the few distinct names a runner receives in every envelope (entity types, shard groups, RPC tags) without
/// allocating a string per message: each name is decoded to the stack and looked up. Bounded, so names sent by a
/// peer gone wrong cannot grow it without limit (past the bound they are read as new strings).
/// </summary>
internal static class NameCache
{
    private const int MaxNames = 4096;
    private const int MaxNameBytes = 256;
    private static readonly ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamesBySpan =
        Names.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Reads a MessagePack string (nil is null), interned.</summary>
    public static string? ReadName(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (!reader.TryReadStringSpan(out var utf8) || utf8.Length > MaxNameBytes)
        {
            return Intern(reader.ReadString()!);
        }

        Span<char> chars = stackalloc char[MaxNameBytes];
        var length = Encoding.UTF8.GetChars(utf8, chars);
        var name = chars[..length];
        if (NamesBySpan.TryGetValue(name, out var cached))
        {
            return cached;
        }

        return Intern(name.ToString());
    }

    private static string Intern(string name) => Names.Count < MaxNames ? Names.GetOrAdd(name, name) : name;
}
