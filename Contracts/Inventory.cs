using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Contracts;

/// <summary>
/// Stock and price of one SKU (entity id = SKU). Carts ask it for prices and reserve from it at checkout,
/// so a cart on one runner talks to inventory entities on others.
/// </summary>
[EntityName("Inventory")]
public sealed class Inventory;

/// <summary>Reads the SKU's stock and price.</summary>
public sealed record GetStock : IEntityRequest<Inventory, StockLevel>;

/// <summary>Adds stock.</summary>
public sealed record Restock(int Quantity) : IEntityRequest<Inventory, StockLevel>;

/// <summary>
/// Takes <paramref name="Quantity"/> from stock for an order; once per order id (persisted, keyed, and the entity
/// records each order, so a re-run after a runner crash takes nothing twice). Uninterruptible: a checkout that is
/// stopped mid-way only stops waiting, and its re-run finds the reservation's reply instead of an interruption.
/// </summary>
[Persisted(Uninterruptible = true)]
public sealed record Reserve(string OrderId, int Quantity) : IEntityRequest<Inventory, Reservation>, IPrimaryKey
{
    public string PrimaryKey => OrderId;
}

/// <summary>
/// Returns what the order reserved to stock (a rejected checkout undoing what it took); once per order id, and
/// nothing for an order that reserved nothing. <paramref name="Quantity"/> is what the sender reserved; the
/// inventory gives back what it recorded for the order.
/// </summary>
[Persisted(Uninterruptible = true)]
public sealed record Release(string OrderId, int Quantity) : IEntityRequest<Inventory, StockLevel>, IPrimaryKey
{
    public string PrimaryKey => OrderId;
}

/// <summary>A SKU's stock; <paramref name="Known"/> is false for a SKU that is not in the catalog.</summary>
public sealed record StockLevel(string Sku, bool Known, int Available, decimal UnitPrice, string Runner);

/// <summary>Whether a <see cref="Reserve"/> was granted, and the stock left.</summary>
public sealed record Reservation(string Sku, string OrderId, bool Accepted, int Available, string Runner);
