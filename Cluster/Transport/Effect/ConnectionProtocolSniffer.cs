using System.IO.Pipelines;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Tells which protocol a new connection speaks from its first byte, peeked from the pipe without consuming it (the
/// protocol's own reader then sees it again). Once per connection; nothing per message.
/// </summary>
internal static class ConnectionProtocolSniffer
{
    /// <summary>TLS record type of a handshake (a ClientHello).</summary>
    private const byte TlsHandshake = 0x16;

    /// <summary>Waits for the first byte and classifies it (the byte is 0 when the peer closed first).</summary>
    public static async ValueTask<(ConnectionProtocol Protocol, byte FirstByte)> SniffAsync(PipeReader input, int maxFrameSize, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                var first = buffer.FirstSpan[0];
                input.AdvanceTo(buffer.Start); // nothing consumed, nothing examined: the next read returns these bytes at once
                return (Classify(first, maxFrameSize), first);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return (ConnectionProtocol.Closed, 0);
            }
        }
    }

    /// <summary>
    /// The protocol a first byte starts: <c>{</c> is Effect's ndjson; <c>0x16</c> TLS; a byte that can lead the big-endian
    /// length of a frame within <paramref name="maxFrameSize"/> (in practice <c>0x00</c>) native; anything else unknown.
    /// </summary>
    public static ConnectionProtocol Classify(byte first, int maxFrameSize) => first switch
    {
        (byte)'{' => ConnectionProtocol.EffectNdjson,
        TlsHandshake => ConnectionProtocol.Native,
        _ when ((long)first << 24) <= maxFrameSize => ConnectionProtocol.Native,
        _ => ConnectionProtocol.Unknown,
    };
}
