namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>An entity type as the runtime sees it, independent of the CLR types (see <see cref="EntityDefinition{TContract, TEntity}"/>).</summary>
public abstract class EntityRegistration
{
    private readonly Dictionary<string, RpcBinding> _rpcs = new(StringComparer.Ordinal);
    private readonly List<Type> _expectedFailures = [];

    private protected EntityRegistration(string name, string shardGroup, Type contractType, Type clrType, Func<EntityContext, object> factory)
    {
        Name = name;
        ShardGroup = shardGroup;
        ContractType = contractType;
        ClrType = clrType;
        Factory = factory;
    }

    /// <summary>The entity type name on the wire.</summary>
    public string Name { get; }

    /// <summary>The shard group its entities live in.</summary>
    public string ShardGroup { get; }

    /// <summary>The entity as senders see it: the type its name comes from and its messages are tied to.</summary>
    public Type ContractType { get; }

    /// <summary>The handler class (the contract type itself when the entity has no separate contract).</summary>
    public Type ClrType { get; }

    /// <summary>The RPC tags it handles.</summary>
    public IEnumerable<string> RpcTags => _rpcs.Keys;

    internal Func<EntityContext, object> Factory { get; }

    internal int Concurrency { get; private protected set; } = 1;

    internal int? MailboxCapacity { get; private protected set; }

    internal TimeSpan? MaxIdleTime { get; private protected set; }

    /// <summary>A defect only fails its request; the handler object is kept (Effect's <c>disableFatalDefects</c>).</summary>
    internal bool FatalDefectsDisabled { get; private protected set; }

    internal DefectRetryPolicy DefectRetryPolicy { get; private protected set; } = DefectRetryPolicy.Default;

    /// <summary>
    /// True when <paramref name="exception"/> thrown by a handler restarts the instance: not a cluster error, not a
    /// cancellation, not an expected failure of the type, and fatal defects are not disabled.
    /// </summary>
    internal bool IsDefect(Exception exception)
    {
        if (FatalDefectsDisabled || exception is Errors.ClusterException or OperationCanceledException)
        {
            return false;
        }

        foreach (var expected in _expectedFailures)
        {
            if (expected.IsInstanceOfType(exception))
            {
                return false;
            }
        }

        return true;
    }

    private protected void AddExpectedFailure(Type exceptionType) => _expectedFailures.Add(exceptionType);

    internal bool TryGetRpc(string tag, out RpcBinding rpc) => _rpcs.TryGetValue(tag, out rpc!);

    private protected void Add(RpcBinding rpc)
    {
        if (!_rpcs.TryAdd(rpc.Tag, rpc))
        {
            throw new InvalidOperationException($"Entity type '{Name}' already has an RPC named '{rpc.Tag}'.");
        }
    }
}
