namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// Hands an activity's body from the replay that runs it to the delivery of its stored attempt message (both on the
/// execution's entity): the replay offers the body under the attempt's key and sends the message; the handler claims
/// the body and runs it. Either side may come first.
/// </summary>
internal sealed class ActivityOffers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource<Func<CancellationToken, Task<byte[]>>>> _slots = new(StringComparer.Ordinal);

    /// <summary>The slot of <paramref name="key"/>, whose task completes with the body once a replay offers it.</summary>
    public TaskCompletionSource<Func<CancellationToken, Task<byte[]>>> Claim(string key)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                slot = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _slots[key] = slot;
            }

            return slot;
        }
    }

    /// <summary>Offers <paramref name="body"/> for <paramref name="key"/>; the first offer of a slot wins.</summary>
    public TaskCompletionSource<Func<CancellationToken, Task<byte[]>>> Offer(string key, Func<CancellationToken, Task<byte[]>> body)
    {
        var slot = Claim(key);
        slot.TrySetResult(body);
        return slot;
    }

    /// <summary>Forgets <paramref name="slot"/> (claimed, answered or abandoned), unless a newer one took its key.</summary>
    public void Release(string key, TaskCompletionSource<Func<CancellationToken, Task<byte[]>>> slot)
    {
        lock (_gate)
        {
            if (_slots.TryGetValue(key, out var current) && ReferenceEquals(current, slot))
            {
                _slots.Remove(key);
            }
        }
    }
}
