using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Tests.Interop;

/// <summary>
/// The C# side of the <c>Counter</c> entity that <c>tests/Interop/effect/cluster.mjs</c> defines with Effect's schemas:
/// the same entity type and RPC names, and messages whose JSON (web defaults: camelCase) is Effect's encoding of
/// <c>{ amount: Schema.Number }</c>, <c>{ upTo: Schema.Number }</c> and the void payloads.
/// </summary>
[EntityName("Counter")]
public sealed class InteropCounter(EntityContext context)
{
    private int _count;

    public ValueTask<int> Increment(InteropIncrement message) => ValueTask.FromResult(_count += message.Amount);

    public ValueTask<int> Get() => ValueTask.FromResult(_count);

    public ValueTask<string> Where() => ValueTask.FromResult(context.Runner?.ToString() ?? "local");

    public static async IAsyncEnumerable<int> Count(InteropCount message, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 1; i <= message.UpTo; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
            await Task.Yield();
        }
    }

    public static ClusterBuilder Register(ClusterBuilder builder) =>
        builder.AddEntity<InteropCounter>(context => new InteropCounter(context), entity => entity
            .On<InteropIncrement, int>((e, m) => e.Increment(m))
            .On<InteropGet, int>((e, _) => e.Get())
            .On<InteropWhere, string>((e, _) => e.Where())
            .OnStream<InteropCount, int>((_, m, ct) => Count(m, ct)));
}

[RpcName("Increment")]
public sealed record InteropIncrement(int Amount) : IEntityRequest<InteropCounter, int>;

[RpcName("Get")]
public sealed record InteropGet : IEntityRequest<InteropCounter, int>;

[RpcName("Where")]
public sealed record InteropWhere : IEntityRequest<InteropCounter, string>;

[RpcName("Count")]
public sealed record InteropCount(int UpTo) : IEntityStreamRequest<InteropCounter, int>;
