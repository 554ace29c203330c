namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>A persisted message that must not be delivered before <see cref="DeliverAt"/> (Effect's <c>DeliverAt</c>).</summary>
public interface IDeliverAt
{
    /// <summary>The earliest delivery time. Precision is the runners' message poll interval.</summary>
    DateTimeOffset DeliverAt { get; }
}
