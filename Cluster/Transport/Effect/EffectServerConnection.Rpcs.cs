using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// What each RPC of Effect's <c>Runners.Rpcs</c> group does on this runner (§4.2): <c>Effect</c> and <c>Stream</c> deliver a
/// volatile request to its entity, <c>Envelope</c> interrupts one, a volatile <c>Notify</c> delivers a request without
/// waiting for its reply (or acts as <c>Envelope</c>); persisted requests are refused with a defect that says so (this runner's stored messages are not in Effect's format). <c>Ping</c> is answered on the read loop.
/// </summary>
internal sealed partial class EffectServerConnection
{
    private static readonly EffectDefect PersistedNotSupported = new("NotSupported",
        "Persisted messages over the Effect protocol are not supported by this runner yet (its stored message format is not Effect's); send them volatile or to an Effect runner.");

    private async Task ServeAsync(EffectClientFrame frame, PooledBytes line, EffectServedRpc rpc)
    {
        await Task.Yield(); // off the read loop: decoding and delivering the request happen on the pool
        try
        {
            switch (frame.Tag)
            {
                case "Effect":
                    await ServeRequestAsync(frame, rpc).ConfigureAwait(false);
                    break;
                case "Stream":
                    await ServeStreamAsync(frame, rpc).ConfigureAwait(false);
                    break;
                case "Envelope":
                    ServeEnvelope(frame, notify: false);
                    break;
                default:
                    ServeEnvelope(frame, notify: true);
                    break;
            }
        }
        catch (OperationCanceledException) when (rpc.Token.IsCancellationRequested)
        {
            if (rpc.InterruptedByEnvelope)
            {
                using var reply = _handler.InterruptedReply(rpc.EntityRequestId);
                Send(frame.Tag == "Stream" ? EffectServerFrames.Chunk(frame.Id, reply.Memory) : EffectServerFrames.ExitSuccess(frame.Id, reply.Memory));
                if (frame.Tag == "Stream")
                {
                    Send(EffectServerFrames.ExitSuccess(frame.Id, default));
                }
            }
            else if (!_closing.IsCancellationRequested)
            {
                Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Interrupted));
            }
        }
        catch (MalformedMessageException ex)
        {
            Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(EffectDefect.Text(ex.Message))));
        }
        catch (Exception ex)
        {
            var failure = EffectFailure.From(ex);
            if (failure.Kind == EffectFailureKind.Die)
            {
                LogFailed(_logger, ex, frame.Tag, frame.Id.ToString(), Peer);
            }

            Send(EffectServerFrames.ExitFailure(frame.Id, failure));
        }
        finally
        {
            line.Dispose();
            Finish(rpc);
        }
    }

    private async Task ServeRequestAsync(EffectClientFrame frame, EffectServedRpc rpc)
    {
        var (request, persisted) = EffectRunnerPayloads.ReadRequest(frame.Payload);
        if (persisted)
        {
            Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(PersistedNotSupported)));
            return;
        }

        Track(request, rpc);
        using var reply = await _handler.HandleEffectRequestAsync(request, rpc.Token).ConfigureAwait(false);
        Send(EffectServerFrames.ExitSuccess(frame.Id, reply.Memory));
    }

    private async Task ServeStreamAsync(EffectClientFrame frame, EffectServedRpc rpc)
    {
        var (request, persisted) = EffectRunnerPayloads.ReadRequest(frame.Payload);
        if (persisted)
        {
            Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(PersistedNotSupported)));
            return;
        }

        Track(request, rpc);
        await foreach (var reply in _handler.HandleEffectStreamAsync(request, rpc.Token).ConfigureAwait(false))
        {
            using (reply)
            {
                Send(EffectServerFrames.Chunk(frame.Id, reply.Memory));
            }

            // Not counted against the read gate meanwhile: the ack comes as a frame, which must be read.
            Interlocked.Decrement(ref _pending);
            try
            {
                await rpc.WaitForAckAsync(rpc.Token).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Increment(ref _pending);
            }
        }

        Send(EffectServerFrames.ExitSuccess(frame.Id, default));
    }

    /// <summary>An <c>Envelope</c> (or <c>Notify</c>) RPC: interrupts a volatile request (wherever it runs here); an <c>AckChunk</c> is answered (this runner paces streams by the RPC acks).</summary>
    /// <remarks>
    /// A <c>Notify</c> (<paramref name="notify"/>) may also carry a whole request: volatile, Effect's fire-and-forget send,
    /// answered once the entity has it; persisted, a "read your storage" nudge this runner cannot follow (Effect's storage).
    /// </remarks>
    private void ServeEnvelope(EffectClientFrame frame, bool notify)
    {
        var envelope = EffectRunnerPayloads.ReadEnvelope(frame.Payload);
        if (envelope.Persisted)
        {
            Send(EffectServerFrames.ExitFailure(frame.Id, EffectFailure.Die(PersistedNotSupported)));
            return;
        }

        if (envelope.Kind == EffectEnvelopeKind.Request)
        {
            if (!notify)
            {
                throw new MalformedMessageException("An Envelope RPC carries an AckChunk or an Interrupt, not a Request.");
            }

            _handler.DeliverEffectNotify(EffectRunnerPayloads.ReadNotifiedRequest(frame.Payload).Request);
            Send(EffectServerFrames.ExitSuccess(frame.Id, default));
            return;
        }

        if (envelope.Kind == EffectEnvelopeKind.Interrupt)
        {
            _volatile.Interrupt(envelope.RequestId);
        }

        Send(EffectServerFrames.ExitSuccess(frame.Id, default));
    }

    private void Track(in EffectPartialRequest request, EffectServedRpc rpc)
    {
        if (!_volatile.TryAdd(request.RequestId, rpc))
        {
            throw new AlreadyProcessingMessageException(request.Address, request.RequestId);
        }
    }
}
