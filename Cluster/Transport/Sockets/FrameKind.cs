namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>What a frame of the runner protocol carries. Values are part of the wire format.</summary>
internal enum FrameKind : byte
{
    // Client → server.
    Ping = 1,
    Request = 2,
    StreamRequest = 3,
    Envelope = 4,
    Notify = 5,
    Cancel = 6,

    /// <summary>Opens the cluster-secret handshake: the client's nonce.</summary>
    Hello = 7,

    /// <summary>The client's proof of the cluster secret, answering <see cref="Challenge"/>.</summary>
    Proof = 8,

    /// <summary>
    /// Lets the runner send <see cref="Frame.Flags"/> (1–255) more chunks of stream request <see cref="Frame.RequestId"/>;
    /// no meta, no payload. Sent with the window right after <see cref="StreamRequest"/>, then as the consumer reads.
    /// </summary>
    Credit = 9,

    // Server → client.
    Pong = 64,
    Success = 65,
    Failure = 66,
    Chunk = 67,
    StreamEnd = 68,

    /// <summary>Answer to <see cref="Hello"/>: the server's nonce and its proof of the cluster secret.</summary>
    Challenge = 69,

    /// <summary>The server's proof of the cluster secret; the connection is open for RPCs.</summary>
    Welcome = 70,
}
