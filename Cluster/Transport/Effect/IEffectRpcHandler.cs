namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The entity side of Effect's runner RPCs, for a runner that serves Effect's protocol next to its own: requests arrive
/// as <see cref="EffectPartialRequest"/>s with JSON payloads and are answered with <c>Reply.Encoded</c> JSON
/// (<see cref="EffectReplies"/>). Routing errors (<see cref="EffectClusterErrors.IsRoutingError"/>) are thrown, for the
/// RPC to fail with them; what befalls the entity request itself (unknown type or RPC, undecodable payload, a failing
/// handler) is its <c>WithExit</c> reply. Implemented by the runner's RPC handler.
/// </summary>
internal interface IEffectRpcHandler
{
    /// <summary>Delivers a volatile request and returns its <c>WithExit</c> reply once the entity answered.</summary>
    ValueTask<PooledBytes> HandleEffectRequestAsync(EffectPartialRequest request, CancellationToken cancellationToken);

    /// <summary>Delivers a volatile stream request and yields its replies: a <c>Chunk</c> per item, then the final <c>WithExit</c>.</summary>
    IAsyncEnumerable<PooledBytes> HandleEffectStreamAsync(EffectPartialRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// A volatile request sent with <c>Notify</c> (Effect's fire-and-forget): delivered to its entity, nobody waits for
    /// its reply. Routing errors are thrown, entity-level ones logged by the entity, as for a tell.
    /// </summary>
    void DeliverEffectNotify(EffectPartialRequest request);

    /// <summary>The <c>WithExit</c> reply of a request its sender interrupted with an <c>Interrupt</c> envelope.</summary>
    PooledBytes InterruptedReply(long requestId);
}
