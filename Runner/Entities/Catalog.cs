namespace SocketRunnerAspire.Runner.Entities;

/// <summary>The sample shop's SKUs: price and the stock an inventory entity starts with.</summary>
public static class Catalog
{
    public sealed record Item(decimal UnitPrice, int InitialStock);

    private static readonly Dictionary<string, Item> Items = new(StringComparer.Ordinal)
    {
        ["apple"] = new(0.50m, 1000),
        ["banana"] = new(0.25m, 1000),
        ["coffee"] = new(7.90m, 200),
        ["tea"] = new(4.20m, 200),
        ["mug"] = new(9.00m, 50),
        ["teapot"] = new(24.00m, 5),
    };

    public static IEnumerable<string> Skus => Items.Keys;

    public static bool TryFind(string sku, out Item item) => Items.TryGetValue(sku, out item!);
}
