namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>What a new connection to the runner's port speaks, told by its first byte (<see cref="ConnectionProtocolSniffer"/>).</summary>
internal enum ConnectionProtocol
{
    /// <summary>The native protocol: a 4-byte big-endian frame length (first byte <c>0x00</c> for any frame the limit allows), or TLS (<c>0x16</c>).</summary>
    Native,

    /// <summary>Effect's protocol with ndjson serialization: a JSON object (<c>{</c>).</summary>
    EffectNdjson,

    /// <summary>Neither (e.g. Effect's default msgpack serialization, or not a runner at all).</summary>
    Unknown,

    /// <summary>The peer closed before sending anything.</summary>
    Closed,
}
