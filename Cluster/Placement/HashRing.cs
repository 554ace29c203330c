namespace SocketRunnerAspire.Cluster.Placement;

/// <summary>
/// Effect's weighted consistent-hash ring (<c>HashRing.ts</c>), ported exactly so every runner (C# or
/// TypeScript) computes the same shard assignment from the same runner list. Not thread-safe.
/// </summary>
public sealed class HashRing
{
    private readonly int _baseWeight;
    private readonly Dictionary<string, double> _nodes = new(StringComparer.Ordinal);
    private List<(int Hash, string Node)> _ring = [];
    private double _totalWeight;

    /// <summary>Creates an empty ring; <paramref name="baseWeight"/> virtual points per unit of weight.</summary>
    public HashRing(int baseWeight = 128) => _baseWeight = Math.Max(baseWeight, 1);

    /// <summary>The node keys on the ring.</summary>
    public IReadOnlyCollection<string> Nodes => _nodes.Keys;

    /// <summary>Adds <paramref name="node"/> (e.g. <c>host:port</c>) or updates its weight.</summary>
    public HashRing Add(string node, double weight = 1)
    {
        weight = Math.Max(weight, 0.1);
        if (_nodes.TryGetValue(node, out var existing))
        {
            if (existing == weight)
            {
                return this;
            }

            _ring = _ring.FindAll(point => point.Node != node);
            _totalWeight += weight - existing;
        }
        else
        {
            _totalWeight += weight;
        }

        _nodes[node] = weight;
        for (var i = (int)Math.Round(weight * _baseWeight, MidpointRounding.AwayFromZero); i > 0; i--)
        {
            _ring.Add((ShardingHash.Compute($"{node}:{i}"), node));
        }

        // Stable sort by hash (List.Sort is not stable; ties must keep insertion order as in JS).
        _ring = [.. _ring.OrderBy(point => point.Hash)];
        return this;
    }

    /// <summary>Removes <paramref name="node"/>; no-op when absent.</summary>
    public HashRing Remove(string node)
    {
        if (_nodes.Remove(node, out var weight))
        {
            _ring = _ring.FindAll(point => point.Node != node);
            _totalWeight -= weight;
        }

        return this;
    }

    /// <summary>The node for <paramref name="input"/>, or null on an empty ring.</summary>
    public string? Get(string input) =>
        _ring.Count == 0 ? null : _ring[IndexFor(ShardingHash.Compute(input), exclude: null).Index].Node;

    /// <summary>
    /// Balanced assignment of <paramref name="count"/> shards: element <c>s</c> is the node of shard
    /// <c>s + 1</c>. Null on an empty ring.
    /// </summary>
    public string[]? GetShards(int count)
    {
        if (_ring.Count == 0)
        {
            return null;
        }

        var shards = new string[count];
        var allocations = new Dictionary<string, int>(StringComparer.Ordinal);
        var exclude = new HashSet<string>(StringComparer.Ordinal);
        var assigned = new bool[count];
        var hashes = new int[count];
        var distances = new (int Shard, string Node, long Distance)[count];
        for (var shard = 0; shard < count; shard++)
        {
            hashes[shard] = ShardingHash.Compute($"shard-{shard}");
            var (index, distance) = IndexFor(hashes[shard], exclude: null);
            distances[shard] = (shard, _ring[index].Node, distance);
        }

        // First pass: nearest node, in order of distance, until a node reaches its share.
        foreach (var (shard, node, _) in distances.OrderBy(d => d.Distance))
        {
            if (exclude.Contains(node))
            {
                continue;
            }

            shards[shard] = node;
            assigned[shard] = true;
            Allocate(node, count, allocations, exclude);
        }

        // Second pass: the rest, in shard order, skipping nodes at their share (unless all are).
        var allAtMax = exclude.Count == _nodes.Count;
        for (var shard = 0; shard < count; shard++)
        {
            if (assigned[shard])
            {
                continue;
            }

            var node = _ring[IndexFor(hashes[shard], allAtMax ? null : exclude).Index].Node;
            shards[shard] = node;
            if (allAtMax)
            {
                continue;
            }

            Allocate(node, count, allocations, exclude);
            allAtMax = exclude.Count == _nodes.Count;
        }

        return shards;
    }

    private void Allocate(string node, int count, Dictionary<string, int> allocations, HashSet<string> exclude)
    {
        var allocated = allocations.GetValueOrDefault(node) + 1;
        allocations[node] = allocated;
        var maxPerNode = Math.Max(1, (int)Math.Floor(count * (_nodes[node] / _totalWeight)));
        if (allocated >= maxPerNode)
        {
            exclude.Add(node);
        }
    }

    private (int Index, long Distance) IndexFor(int hash, HashSet<string>? exclude)
    {
        var len = _ring.Count;
        int lo = 0, hi = len - 1;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (_ring[mid].Hash >= hash)
            {
                hi = mid - 1;
            }
            else
            {
                lo = mid + 1;
            }
        }

        var a = lo == len ? lo - 1 : lo;
        var distA = Math.Abs((long)_ring[a].Hash - hash);
        if (exclude is null)
        {
            var b = lo - 1;
            if (b < 0)
            {
                return (a, distA);
            }

            var distB = Math.Abs((long)_ring[b].Hash - hash);
            return distA <= distB ? (a, distA) : (b, distB);
        }

        if (!exclude.Contains(_ring[a].Node))
        {
            return (a, distA);
        }

        var range = Math.Max(lo, len - lo);
        for (var i = 1; i < range; i++)
        {
            var index = lo - i;
            if (index >= 0 && index < len && !exclude.Contains(_ring[index].Node))
            {
                return (index, Math.Abs((long)_ring[index].Hash - hash));
            }

            index = lo + i;
            if (index >= 0 && index < len && !exclude.Contains(_ring[index].Node))
            {
                return (index, Math.Abs((long)_ring[index].Hash - hash));
            }
        }

        return (a, distA);
    }
}
