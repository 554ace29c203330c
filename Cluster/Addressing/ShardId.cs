namespace SocketRunnerAspire.Cluster.Addressing;

/// <summary>A shard: its group and its number (1..shardsPerGroup). String form <c>group:n</c>.</summary>
public readonly record struct ShardId(string Group, int Id)
{
    /// <summary>The default shard group.</summary>
    public const string DefaultGroup = "default";

    /// <inheritdoc />
    public override string ToString() => $"{Group}:{Id}";

    /// <summary>Parses <c>group:n</c>.</summary>
    public static ShardId Parse(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            throw new FormatException($"'{value}' is not a shard id (group:n).");
        }

        return new ShardId(value[..colon], id);
    }
}
