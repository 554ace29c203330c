using System.Diagnostics;
using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Effect;

namespace SocketRunnerAspire.Cluster.Routing;

/// <summary>
/// Volatile requests from Effect TS nodes (Effect's runner protocol): routed as native ones are (the type must be hosted,
/// the shard owned and right, the mailbox have room), with payloads and replies in JSON through the RPC's binding.
/// </summary>
internal sealed partial class RunnerRpcHandler : IEffectRpcHandler
{
    public async ValueTask<PooledBytes> HandleEffectRequestAsync(EffectPartialRequest request, CancellationToken cancellationToken)
    {
        TaskEntityWork work;
        RpcBinding rpc;
        try
        {
            (work, rpc) = DeliverEffect(request, expectStream: false, cancellationToken);
        }
        catch (Exception ex) when (!EffectClusterErrors.IsRoutingError(ex))
        {
            return Failed(request.RequestId, ex);
        }

        if (rpc.Kind == RpcKind.Tell)
        {
            return EffectReplies.WithExitVoid(request.RequestId, newId()); // a tell is done for its sender once queued
        }

        try
        {
            var reply = await work.Reply.Task.ConfigureAwait(false);
            return EffectReplies.WithExitSuccess(request.RequestId, newId(), (rpc, serializer, reply),
                static (writer, s) => s.rpc.SerializeJsonReply(s.serializer, writer, s.reply));
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !EffectClusterErrors.IsRoutingError(ex))
        {
            return Failed(request.RequestId, ex);
        }
    }

    public async IAsyncEnumerable<PooledBytes> HandleEffectStreamAsync(EffectPartialRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TaskEntityWork? work = null;
        RpcBinding? rpc = null;
        PooledBytes failed = default;
        try
        {
            (work, rpc) = DeliverEffect(request, expectStream: true, cancellationToken);
        }
        catch (Exception ex) when (!EffectClusterErrors.IsRoutingError(ex))
        {
            failed = Failed(request.RequestId, ex);
        }

        if (work is null)
        {
            yield return failed;
            yield break;
        }

        var items = work.Stream!.Reader;
        for (var sequence = 0; ; sequence++)
        {
            PooledBytes next;
            var end = false;
            try
            {
                if (await items.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && items.TryRead(out var item))
                {
                    next = EffectReplies.Chunk(request.RequestId, newId(), sequence, (rpc!, serializer, item),
                        static (writer, s) => s.Item1.SerializeJsonReply(s.serializer, writer, s.item));
                }
                else
                {
                    (next, end) = (EffectReplies.WithExitVoid(request.RequestId, newId()), true);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !EffectClusterErrors.IsRoutingError(ex))
            {
                (next, end) = (Failed(request.RequestId, ex), true);
            }

            yield return next;
            if (end)
            {
                yield break;
            }
        }
    }

    public void DeliverEffectNotify(EffectPartialRequest request)
    {
        var (work, _) = DeliverEffect(request, expectStream: false, CancellationToken.None);
        // Nobody waits for the outcome: observed here, a failure is not an UnobservedTaskException.
        _ = work.Reply.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    public PooledBytes InterruptedReply(long requestId) => EffectReplies.WithExitFailure(requestId, newId(), EffectFailure.Interrupted);

    /// <summary>The entity request's own failure: its <c>WithExit</c> dies with the error as a defect.</summary>
    private PooledBytes Failed(long requestId, Exception exception) =>
        EffectReplies.WithExitFailure(requestId, newId(), EffectFailure.Die(EffectDefect.From(exception)));

    /// <summary>Checks, decodes and queues an Effect request for its entity, as <see cref="Receive"/> does a native one.</summary>
    private (TaskEntityWork Work, RpcBinding Rpc) DeliverEffect(in EffectPartialRequest request, bool expectStream, CancellationToken cancellationToken)
    {
        var address = request.Address;
        var manager = entities.RequireManager(address.EntityType, self);
        entities.RequireRightShard(address, manager);
        if (!manager.Registration.TryGetRpc(request.Tag, out var rpc))
        {
            throw new UnknownEntityTypeException($"Entity type '{manager.Registration.Name}' has no RPC '{request.Tag}'.");
        }

        if ((rpc.Kind == RpcKind.Stream) != expectStream)
        {
            throw new MalformedMessageException(expectStream
                ? $"RPC '{manager.Registration.Name}.{request.Tag}' is a {rpc.Kind} RPC, sent as a Stream."
                : $"RPC '{manager.Registration.Name}.{request.Tag}' is a Stream RPC; streams are sent with the Stream RPC.");
        }

        var message = rpc.DeserializeJsonRequest(serializer, request.Payload.Span);
        var parent = ActivityContext.TryParse(request.TraceParent, null, isRemote: true, out var context) ? context : default;
        // A tell is done for its sender once queued: nothing cancels it after that.
        var work = new TaskEntityWork(rpc, message, parent, rpc.Kind == RpcKind.Tell ? CancellationToken.None : cancellationToken);
        entities.Deliver(manager, address, work);   // throws (and drops the work) when the entity cannot take it
        return (work, rpc);
    }
}
