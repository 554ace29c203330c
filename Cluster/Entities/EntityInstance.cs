using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;
using System.Threading.Channels;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// One live entity: its handler object, its mailbox and the workers that drain it (one by default,
/// so messages are handled in order). The mailbox counts unreplied requests against the capacity.
/// </summary>
internal sealed class EntityInstance
{
    private readonly EntityRegistration _registration;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private readonly Channel<EntityWork> _mailbox;
    private readonly CancellationTokenSource _stopping = new();
    // Streams (watches, subscriptions) have no natural end, so stopping interrupts them at once instead of
    // waiting out the termination timeout for them, which would hold up every shard move while a client watches.
    private readonly CancellationTokenSource _streamsStopping = new();
    private readonly Lock _gate = new();
    private readonly Task _running;
    private bool _stopped;
    private int _pending;
    private readonly TimeProvider _time;
    private long _lastActive;

    public EntityInstance(EntityRegistration registration, EntityAddress address, RunnerAddress? runner, IServiceProvider services, int capacity, ILogger logger, TimeProvider time)
    {
        _time = time;
        _lastActive = time.GetTimestamp();
        _registration = registration;
        _logger = logger;
        _capacity = capacity;
        Address = address;
        Context = new EntityContext(address, runner, services, _stopping.Token);
        try
        {
            Entity = registration.Factory(Context);
        }
        catch (Exception ex)
        {
            throw new EntityHandlerException(ex.GetType().FullName ?? ex.GetType().Name, $"Creating entity {address} failed: {ex.Message}", ex);
        }

        _mailbox = Channel.CreateUnbounded<EntityWork>(new UnboundedChannelOptions { SingleReader = registration.Concurrency == 1 });
        ClusterDiagnostics.EntitiesActive.Add(1);

        // The workers must not inherit the activating sender's context (its Activity would become the
        // parent of every later message's span); each message carries its own parent instead.
        using (ExecutionContext.SuppressFlow())
        {
            _running = Task.Run(RunAsync);
        }
    }

    public EntityAddress Address { get; }

    public EntityContext Context { get; }

    public object Entity { get; }

    /// <summary>Unreplied requests.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Queues <paramref name="work"/>; false when the instance is stopping (create a new one).</summary>
    public bool TryEnqueue(EntityWork work)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }

            if (_capacity > 0 && _pending >= _capacity)
            {
                throw new MailboxFullException(Address);
            }

            _pending++;
            _lastActive = _time.GetTimestamp();
            _mailbox.Writer.TryWrite(work);
        }

        ClusterDiagnostics.MailboxDepth.Add(1);
        return true;
    }

    public bool IsIdle(TimeSpan maxIdle) =>
        Pending == 0 && !Context.KeepAlive && _time.GetElapsedTime(Volatile.Read(ref _lastActive)) >= maxIdle;

    /// <summary>
    /// Stops taking messages, lets queued and running ones finish within <paramref name="timeout"/>, then
    /// interrupts the rest (their senders get <see cref="EntityNotAssignedToRunnerException"/> and retry).
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _mailbox.Writer.TryComplete();
        }

        await _streamsStopping.CancelAsync().ConfigureAwait(false);

        try
        {
            await _running.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("Entity {Address} did not stop within {Timeout}; interrupting it", Address, timeout);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        switch (Entity)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        ClusterDiagnostics.EntitiesActive.Add(-1);
    }

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        var concurrency = _registration.Concurrency;
        if (concurrency == 1)
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var work))
                {
                    await ProcessAsync(work).ConfigureAwait(false);
                }
            }

            return;
        }

        // Concurrent: up to `concurrency` handlers at once (0 = no limit), still fed in mailbox order.
        using var slots = concurrency > 0 ? new SemaphoreSlim(concurrency) : null;
        var running = new HashSet<Task>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var work))
            {
                if (slots is not null)
                {
                    await slots.WaitAsync().ConfigureAwait(false);
                }

                var task = ProcessAsync(work).ContinueWith(static (_, s) => ((SemaphoreSlim?)s)?.Release(), slots, TaskScheduler.Default);
                lock (running)
                {
                    running.Add(task);
                }

                _ = task.ContinueWith(t => { lock (running) { running.Remove(t); } }, TaskScheduler.Default);
            }
        }

        Task[] remaining;
        lock (running)
        {
            remaining = [.. running];
        }

        await Task.WhenAll(remaining).ConfigureAwait(false);
    }

    private async Task ProcessAsync(EntityWork work)
    {
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                work.Fail(new EntityNotAssignedToRunnerException(Address));
                return;
            }

            if (work.Cancellation.IsCancellationRequested)
            {
                work.Reply.TrySetCanceled(work.Cancellation);
                work.Stream?.Writer.TryComplete(new OperationCanceledException(work.Cancellation));
                return;
            }

            using var interrupt = work.Stream is null
                ? CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, _stopping.Token)
                : CancellationTokenSource.CreateLinkedTokenSource(work.Cancellation, _stopping.Token, _streamsStopping.Token);
            using var activity = ClusterDiagnostics.ActivitySource.StartActivity(
                $"handle {Address.EntityType}.{work.Rpc.Tag}", ActivityKind.Server, work.Parent);
            if (activity is not null)
            {
                ClusterDiagnostics.TagEntityCall(activity, Address, work.Rpc.Tag, Context.Runner?.ToString() ?? "local");
            }

            try
            {
                if (work.Stream is { } stream)
                {
                    await foreach (var item in work.Rpc.InvokeStream(Entity, work.Request, Context, interrupt.Token).ConfigureAwait(false))
                    {
                        await stream.Writer.WriteAsync(item, interrupt.Token).ConfigureAwait(false);
                    }

                    stream.Writer.TryComplete();
                    work.Reply.TrySetResult(null);
                }
                else
                {
                    var reply = await work.Rpc.InvokeAsync(Entity, work.Request, Context, interrupt.Token).ConfigureAwait(false);
                    // A remote request's reply is sent inline by TrySetResult: end the span first, so it is
                    // exported before the caller can see the reply.
                    activity?.Stop();
                    work.Reply.TrySetResult(reply);
                }

                ClusterDiagnostics.MessagesProcessed.Add(1, new KeyValuePair<string, object?>(ClusterDiagnostics.EntityTypeTag, Address.EntityType));
            }
            catch (OperationCanceledException) when (work.Cancellation.IsCancellationRequested)
            {
                work.Reply.TrySetCanceled(work.Cancellation);
                work.Stream?.Writer.TryComplete(new OperationCanceledException(work.Cancellation));
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested || (work.Stream is not null && _streamsStopping.IsCancellationRequested))
            {
                work.Fail(new EntityNotAssignedToRunnerException(Address));
            }
            catch (ClusterException ex)
            {
                ClusterDiagnostics.MessagesFailed.Add(1);
                work.Fail(ex);
            }
            catch (Exception ex)
            {
                ClusterDiagnostics.MessagesFailed.Add(1);
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                work.Fail(new EntityHandlerException(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex));
            }
        }
        finally
        {
            lock (_gate)
            {
                _pending--;
                _lastActive = _time.GetTimestamp();
            }

            ClusterDiagnostics.MailboxDepth.Add(-1);
        }
    }
}
