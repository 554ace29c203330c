namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>How a transport wants the entity payloads inside the envelopes it sends, and gives back replies in.</summary>
public enum PayloadFormat
{
    /// <summary>MessagePack (<c>ClusterSerializer</c>): the native protocol.</summary>
    MessagePack,

    /// <summary>JSON (<c>ClusterSerializer.JsonOptions</c>): Effect's protocol, whose peers read Effect's JSON codec.</summary>
    Json,
}
