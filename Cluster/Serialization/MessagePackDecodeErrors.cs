using MessagePack;

namespace SocketRunnerAspire.Cluster.Serialization;

/// <summary>What reading untrusted MessagePack throws when the bytes are not what was asked for.</summary>
internal static class MessagePackDecodeErrors
{
    /// <summary>
    /// Wrong type (MessagePackSerializationException), truncated (EndOfStreamException), out of range
    /// (OverflowException), and ArgumentOutOfRangeException for a str32/bin32 length of 2 GiB or more, which
    /// MessagePack's reader takes as a negative int and slices with.
    /// </summary>
    public static bool Is(Exception ex) =>
        ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidOperationException or ArgumentException;
}
