namespace SocketRunnerAspire.Cluster.Http;

/// <summary>What <see cref="EntityProxyEndpointRouteBuilderExtensions.MapEntityProxy{TContract}"/> maps, and how it answers handler errors.</summary>
/// <typeparam name="TContract">The entity's contract type.</typeparam>
public sealed class EntityProxyOptions<TContract>
{
    private readonly HashSet<Type> _excluded = [];
    private readonly Dictionary<string, int> _handlerErrorStatus = new(StringComparer.Ordinal);

    /// <summary>
    /// Leaves <typeparamref name="TMessage"/> out: an RPC other entities call but HTTP callers must not, or one the app
    /// maps by hand because it needs validation or shaping.
    /// </summary>
    public EntityProxyOptions<TContract> Except<TMessage>()
    {
        if (EntityProxyRpc.For<TContract>(typeof(TMessage)) is null)
        {
            throw new ArgumentException($"{typeof(TMessage).Name} is not a message of {typeof(TContract).Name}.", nameof(TMessage));
        }

        _excluded.Add(typeof(TMessage));
        return this;
    }

    /// <summary>
    /// Answers a handler that threw <typeparamref name="TException"/> with <paramref name="status"/> instead of
    /// 422 Unprocessable Content (e.g. 409 Conflict for a broken business rule).
    /// </summary>
    public EntityProxyOptions<TContract> HandlerError<TException>(int status)
        where TException : Exception
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 599);
        _handlerErrorStatus[typeof(TException).FullName!] = status;
        return this;
    }

    internal bool Includes(EntityProxyRpc rpc) => !_excluded.Contains(rpc.MessageType);

    internal int? HandlerErrorStatus(string errorType) => _handlerErrorStatus.TryGetValue(errorType, out var status) ? status : null;
}
