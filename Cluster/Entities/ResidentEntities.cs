using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// The cap on live entity instances of one runner (<c>Cluster:MaxResidentEntities</c>), shared by every entity
/// type's <see cref="EntityManager"/>. An activation over the cap first passivates the least recently used idle
/// instance; when none is idle it fails with <see cref="EntityCapacityExceededException"/>.
/// </summary>
/// <remarks>
/// The LRU is approximate, as in Redis: instances sit in a dense array with their slots in a map (adding and removing
/// are O(1), and an instance carries nothing for the cap when there is none), and the victim is the idle instance with
/// the oldest last activity among <see cref="SampleSize"/> random ones; with no more residents than that the choice is
/// exact. When the sample holds no idle instance, a clock hand sweeps on through at most <see cref="SweepSize"/> more
/// and takes the first idle one, so an activation costs a bounded amount under a busy backlog. An activation is
/// refused only when none of those is idle: with at most <see cref="SweepSize"/> residents only when none is idle at
/// all; above that an idle one may be missed by one attempt and found by the next (persisted messages retry; a volatile
/// caller gets the error). Not created when the cap is 0.
/// </remarks>
internal sealed class ResidentEntities(int capacity)
{
    /// <summary>How many residents are compared to pick a victim.</summary>
    internal const int SampleSize = 16;

    /// <summary>How many residents one activation checks at most when the sample holds no idle one.</summary>
    internal const int SweepSize = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<EntityInstance, int> _slotOf = new(ReferenceEqualityComparer.Instance);
    private EntityInstance[] _slots = new EntityInstance[Math.Min(capacity, 1024)];
    private int _count;
    private int _peak;
    private int _hand;

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
        EntityInstance? oldest = null;
        var oldestActive = long.MaxValue;
        if (_count <= SampleSize)
        {
            for (var slot = 0; slot < _count; slot++)
            {
                Consider(slot, ref oldest, ref oldestActive);
            }

            return oldest;
        }

        for (var i = 0; i < SampleSize; i++)
        {
            Consider(Random.Shared.Next(_count), ref oldest, ref oldestActive);
        }

        // None idle in the sample: sweep on from where the last sweep stopped (a clock hand), so repeated attempts
        // check every resident in turn while one attempt checks a bounded number.
        for (var i = Math.Min(_count, SweepSize); oldest is null && i > 0; i--)
        {
            _hand = (_hand + 1) % _count;
            Consider(_hand, ref oldest, ref oldestActive);
        }

        return oldest;
    }

    private void Consider(int slot, ref EntityInstance? oldest, ref long oldestActive)
    {
        var candidate = _slots[slot];
        if (candidate.TryGetIdleSince(out var lastActive) && lastActive < oldestActive)
        {
            oldest = candidate;
            oldestActive = lastActive;
        }
    }
}
