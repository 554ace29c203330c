using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// What an <see cref="EntityInstance"/> keeps for defect restarts once one happened, and the rebuild itself: dispose
/// the broken handler object, wait the <see cref="DefectRetryPolicy"/>'s back-off, build a fresh one (retrying a
/// failing factory on the same back-off). Its state is guarded by the instance's lock; the rebuild runs outside it.
/// </summary>
internal sealed partial class EntityRestart(Backoff backoff)
{
    private Exception? _defect;

    /// <summary>Work that ran when the defect struck, to run again on the fresh handler object (in the order it stopped).</summary>
    public List<EntityWork> Kept { get; } = [];

    /// <summary>The rebuild's wait, which a stop cancels; null while no rebuild waits.</summary>
    public CancellationTokenSource? Wait { get; private set; }

    /// <summary>A request completed since the last restart: the next one starts the back-off again. Written without the lock.</summary>
    public volatile bool CompletedSince;

    /// <summary>Under the instance's lock: <paramref name="defect"/> starts the next rebuild and is logged with it.</summary>
    public void Record(Exception defect) => _defect = defect;

    /// <summary>Under the instance's lock: the rebuild starts; <paramref name="stopped"/> cancels its wait at once.</summary>
    public (Exception Defect, TimeSpan Delay, CancellationToken Wait) Begin(bool stopped)
    {
        var defect = _defect!;
        _defect = null;
        if (CompletedSince)
        {
            backoff.Reset();
            CompletedSince = false;
        }

        var wait = new CancellationTokenSource();
        if (stopped)
        {
            wait.Cancel();   // nothing is registered on it yet: no callback runs under the lock
        }

        // Not disposed when the rebuild ends: a stop may be cancelling it right now. It has no timer or callbacks to free.
        Wait = wait;
        return (defect, backoff.Next(), wait.Token);
    }

    /// <summary>
    /// Outside the lock: disposes <paramref name="broken"/>, waits <paramref name="delay"/> and builds a fresh handler
    /// object; null when a stop cancelled the wait.
    /// </summary>
    public async Task<object?> RebuildAsync(EntityManager owner, EntityAddress address, EntityContext context, object? broken, Exception defect, TimeSpan delay, CancellationToken wait)
    {
        ClusterDiagnostics.EntityRestarts.Add(1, new KeyValuePair<string, object?>(ClusterDiagnostics.EntityTypeTag, address.EntityType));
        LogRestarting(owner.Logger, defect, address, delay);
        try
        {
            await EntityInstance.DisposeEntityAsync(broken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogDisposeFailed(owner.Logger, ex, address);
        }

        while (true)
        {
            try
            {
                await Task.Delay(delay, owner.Time, wait).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            try
            {
                return owner.Registration.Factory(context);
            }
            catch (Exception ex)
            {
                delay = backoff.Next();
                LogRebuildFailed(owner.Logger, ex, address, delay);
            }
        }
    }

    /// <summary>Under the instance's lock, once the rebuild ended: the kept work goes ahead of <paramref name="mailbox"/>'s queue.</summary>
    public void Requeue(Queue<EntityWork> mailbox)
    {
        Wait = null;
        if (Kept.Count == 0)
        {
            return;
        }

        var queued = mailbox.ToArray();
        mailbox.Clear();
        foreach (var work in Kept)
        {
            mailbox.Enqueue(work);
        }

        foreach (var work in queued)
        {
            mailbox.Enqueue(work);
        }

        Kept.Clear();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Entity {Address} restarts after a defect: its handler object is rebuilt in {Delay} and its running requests run again")]
    private static partial void LogRestarting(ILogger logger, Exception exception, EntityAddress address, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rebuilding entity {Address} after a defect failed; retrying in {Delay}")]
    private static partial void LogRebuildFailed(ILogger logger, Exception exception, EntityAddress address, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disposing entity {Address} after a defect failed")]
    private static partial void LogDisposeFailed(ILogger logger, Exception exception, EntityAddress address);
}
