using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// The cap on live entity instances of one runner (<c>Cluster:MaxResidentEntities</c>), shared by every entity
/// type's <see cref="EntityManager"/>. An activation over the cap first passivates the least recently used idle
/// instance; when none is idle it fails with <see cref="EntityCapacityExceededException"/>.
/// </summary>
/// <remarks>
/// The LRU is approximate, as in Redis: instances sit in a dense array, with their slots in a map (so adding and
/// removing are O(1), and an instance carries nothing for the cap when there is none), and a victim is the idle instance with the oldest last activity among <see cref="SampleSize"/> random
/// ones; with no more residents than that the choice is exact. Only when the sample holds no idle instance is every
/// resident checked, so an activation is refused only when no instance is idle at all. Not created when the cap is 0.
/// </remarks>
internal sealed class ResidentEntities(int capacity)
{
    /// <summary>How many residents are compared to pick a victim.</summary>
    internal const int SampleSize = 16;

    private readonly Lock _gate = new();
    private readonly Dictionary<EntityInstance, int> _slotOf = new(ReferenceEqualityComparer.Instance);
    private EntityInstance[] _slots = new EntityInstance[Math.Min(capacity, 1024)];
    private int _count;
    private int _peak;

    public int Capacity { get; } = capacity;

    /// <summary>Live instances now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The most instances that were ever live at once (tests check the cap held).</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>
    /// Counts <paramref name="instance"/> as resident, first passivating the least recently used idle instance when
    /// the cap is reached. Throws <see cref="EntityCapacityExceededException"/> (and counts nothing) when none is idle.
    /// </summary>
    public void Admit(EntityInstance instance)
    {
        EntityInstance? victim = null;
        lock (_gate)
        {
            if (_count >= Capacity)
            {
                victim = PickVictim() ?? throw new EntityCapacityExceededException(instance.Address);
                RemoveAt(_slotOf[victim]);
            }

            if (_count == _slots.Length)
            {
                Array.Resize(ref _slots, Math.Min(Math.Max(_slots.Length * 2, 4), Capacity));
            }

            _slotOf[instance] = _count;
            _slots[_count++] = instance;
            if (_count > _peak)
            {
                _peak = _count;
            }
        }

        if (victim is not null)
        {
            ClusterDiagnostics.CapEvictions.Add(1);
            victim.Owner.Evict(victim);
        }
    }

    /// <summary>No longer counts <paramref name="instance"/> (stopped, or never activated); does nothing when it is not counted.</summary>
    public void Remove(EntityInstance instance)
    {
        lock (_gate)
        {
            if (_slotOf.TryGetValue(instance, out var slot))
            {
                RemoveAt(slot);
            }
        }
    }

    private void RemoveAt(int slot)
    {
        var removed = _slots[slot];
        var last = --_count;
        if (slot != last)
        {
            _slots[slot] = _slots[last];
            _slotOf[_slots[slot]] = slot;
        }

        _slots[last] = null!;
        _slotOf.Remove(removed);
    }

    private EntityInstance? PickVictim()
    {
        if (_count <= SampleSize)
        {
            return OldestIdle(0, _count, sampled: false);
        }

        return OldestIdle(0, SampleSize, sampled: true) ?? OldestIdle(0, _count, sampled: false);
    }

    private EntityInstance? OldestIdle(int from, int to, bool sampled)
    {
        EntityInstance? oldest = null;
        long oldestActive = long.MaxValue;
        for (var i = from; i < to; i++)
        {
            var candidate = _slots[sampled ? Random.Shared.Next(_count) : i];
            if (candidate.TryGetIdleSince(out var lastActive) && lastActive < oldestActive)
            {
                oldest = candidate;
                oldestActive = lastActive;
            }
        }

        return oldest;
    }
}
