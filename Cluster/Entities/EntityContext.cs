using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>What an entity instance knows about itself; passed to its factory and every handler.</summary>
public sealed class EntityContext
{
    // Keep-alive in one field, so an instance pays no more for it than the flag did. Written under the instance's lock.
    private static readonly object KeepAliveOn = new();
    private static readonly object KeepAliveTurnedOff = new();   // off, and turned off here: a keep-alive message that arrives later is released at once

    private readonly EntityInstance _instance;
    // null (off), KeepAliveOn, KeepAliveTurnedOff, or the KeepAliveLatch of the parked keep-alive message (on).
    private volatile object? _keepAlive;

    internal EntityContext(EntityAddress address, RunnerAddress? runner, IServiceProvider services, EntityInstance instance)
    {
        Address = address;
        Runner = runner;
        Services = services;
        _instance = instance;
    }

    /// <summary>The entity's type, id and shard.</summary>
    public EntityAddress Address { get; }

    /// <summary>The runner hosting this instance.</summary>
    public RunnerAddress? Runner { get; }

    /// <summary>Services of the hosting process.</summary>
    public IServiceProvider Services { get; }

    /// <summary>
    /// Cancelled when the instance is being stopped (passivation, shard move, shutdown) and its running handlers have
    /// not finished within <c>EntityTerminationTimeout</c>: they are interrupted.
    /// </summary>
    public CancellationToken Stopping => _instance.StoppingToken;

    /// <summary>
    /// Cancelled as soon as the instance starts stopping, before <see cref="Stopping"/>: for handlers whose work is
    /// safe to abandon at once (it runs again on the next owner), such as a workflow's replay.
    /// </summary>
    internal CancellationToken StopRequested => _instance.StopRequestedToken;

    /// <summary>While true the entity is not passivated when idle (Effect's <c>Entity.keepAlive</c>); see <see cref="SetKeepAliveAsync"/>.</summary>
    public bool KeepAlive => _keepAlive is { } state && state != KeepAliveTurnedOff;

    /// <summary>
    /// Turns keep-alive on or off (Effect's <c>Entity.keepAlive</c>). While on, the entity is not passivated when
    /// idle. On a runner with a MessageStorage it is durable: turning it on stores an internal keep-alive message
    /// (tag <c>Cluster/Entity/keepAlive</c>, one per entity) that the runtime holds unanswered, so after a restart or
    /// shard move the message is delivered again and re-creates the entity on its new owner, kept alive; turning it
    /// off answers that message (its reply is saved before this returns) and the entity passivates normally. Without
    /// a MessageStorage it is an in-memory flag of this instance. Turning it on when it is on does nothing.
    /// </summary>
    /// <exception cref="PersistenceException">Storing the keep-alive message failed; keep-alive stays off.</exception>
    public async ValueTask SetKeepAliveAsync(bool enabled, CancellationToken cancellationToken = default)
    {
        if (enabled)
        {
            lock (_instance.Gate)
            {
                if (KeepAlive)
                {
                    return;
                }

                _keepAlive = KeepAliveOn;
            }

            if (_instance.Owner.KeepAliveMessages is not { } messages)
            {
                return;
            }

            try
            {
                await messages.EnableAsync(Address, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                lock (_instance.Gate)
                {
                    if (_keepAlive == KeepAliveOn)
                    {
                        _keepAlive = null;
                    }
                }

                throw;
            }

            return;
        }

        KeepAliveLatch? parked;
        lock (_instance.Gate)
        {
            parked = _keepAlive as KeepAliveLatch;
            _keepAlive = KeepAliveTurnedOff;
        }

        if (parked is not null)
        {
            parked.Released.TrySetResult();
            await parked.Ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Under the instance's lock: parks a delivered keep-alive message, which turns keep-alive on unless it was turned off here.</summary>
    internal KeepAliveLatch ParkKeepAlive()
    {
        switch (_keepAlive)
        {
            case KeepAliveLatch parked:
                return parked;
            case var state when state == KeepAliveTurnedOff:
                return KeepAliveLatch.Open();
            default:
                var latch = new KeepAliveLatch();
                _keepAlive = latch;
                return latch;
        }
    }

    /// <summary>The instance is stopping: a parked keep-alive message is given up unanswered (it stays stored for the next owner).</summary>
    internal void AbandonKeepAlive()
    {
        KeepAliveLatch? parked;
        lock (_instance.Gate)
        {
            parked = _keepAlive as KeepAliveLatch;
            if (parked is not null)
            {
                _keepAlive = KeepAliveOn;
            }
        }

        parked?.Released.TrySetException(new EntityNotAssignedToRunnerException(Address));
    }
}
