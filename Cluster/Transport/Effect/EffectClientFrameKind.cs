namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>What an Effect RPC client sends (<c>FromClientEncoded</c>, by its <c>_tag</c>).</summary>
internal enum EffectClientFrameKind
{
    /// <summary><c>{_tag:"Request", id, tag, payload, headers}</c>: run an RPC.</summary>
    Request,

    /// <summary><c>{_tag:"Ack", requestId}</c>: the client took a stream's chunk; the next may be sent.</summary>
    Ack,

    /// <summary><c>{_tag:"Interrupt", requestId}</c>: cancel a running RPC.</summary>
    Interrupt,

    /// <summary><c>{_tag:"Ping"}</c>: keep-alive, answered with a Pong.</summary>
    Ping,

    /// <summary><c>{_tag:"Eof"}</c>: the client sends nothing more.</summary>
    Eof,
}
