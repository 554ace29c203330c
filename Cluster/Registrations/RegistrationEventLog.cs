using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Cluster.Registrations;

/// <summary>
/// The registration events of one node as an observable that replays: a subscriber first receives every event so
/// far, then each new one, exactly once and in order; on dispose of the node, <c>OnCompleted</c>. Observers are called
/// under a lock (that is what keeps replay and live events from overlapping), so they should not block; one that
/// throws is logged and keeps its subscription.
/// </summary>
internal sealed partial class RegistrationEventLog(ILogger logger) : IObservable<ClusterRegistrationEvent>
{
    private readonly Lock _gate = new();
    private readonly List<ClusterRegistrationEvent> _events = [];
    private readonly List<IObserver<ClusterRegistrationEvent>> _observers = [];
    private bool _completed;

    public IDisposable Subscribe(IObserver<ClusterRegistrationEvent> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            foreach (var registration in _events)
            {
                Deliver(observer, registration);
            }

            if (_completed)
            {
                observer.OnCompleted();
                return Subscription.None;
            }

            _observers.Add(observer);
            return new Subscription(this, observer);
        }
    }

    public void Publish(ClusterRegistrationEvent registration)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _events.Add(registration);
            foreach (var observer in _observers.ToArray())
            {
                Deliver(observer, registration);
            }
        }
    }

    public void Complete()
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            foreach (var observer in _observers)
            {
                observer.OnCompleted();
            }

            _observers.Clear();
        }
    }

    private void Deliver(IObserver<ClusterRegistrationEvent> observer, ClusterRegistrationEvent registration)
    {
        try
        {
            observer.OnNext(registration);
        }
        catch (Exception ex)
        {
            LogObserverFailed(logger, ex, registration.ToString());
        }
    }

    private void Unsubscribe(IObserver<ClusterRegistrationEvent> observer)
    {
        lock (_gate)
        {
            _observers.Remove(observer);
        }
    }

    private sealed class Subscription(RegistrationEventLog? log, IObserver<ClusterRegistrationEvent>? observer) : IDisposable
    {
        public static readonly Subscription None = new(null, null);

        private RegistrationEventLog? _log = log;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _log, null) is { } owner)
            {
                owner.Unsubscribe(observer!);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A registration event observer failed on {Registration}")]
    private static partial void LogObserverFailed(ILogger logger, Exception exception, string registration);
}
