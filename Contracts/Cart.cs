using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Contracts;

/// <summary>
/// A shopping cart per cart id. One instance lives on one runner at a time, so it is the single writer
/// of its cart: no locks, no optimistic-concurrency retries, and watchers are pushed every change.
/// Runners implement it in Runner/Entities/CartEntity.cs.
/// </summary>
[EntityName("Cart")]
public sealed class Cart;

/// <summary>Adds <paramref name="Quantity"/> of <paramref name="Sku"/>, priced by the SKU's <see cref="Inventory"/> entity.</summary>
public sealed record AddItem(string Sku, int Quantity) : IEntityRequest<Cart, CartSnapshot>;

/// <summary>Removes a SKU from the cart.</summary>
public sealed record RemoveItem(string Sku) : IEntityRequest<Cart, CartSnapshot>;

/// <summary>Reads the cart.</summary>
public sealed record GetCart : IEntityRequest<Cart, CartSnapshot>;

/// <summary>Streams the cart now and after every change, until the caller stops reading.</summary>
public sealed record WatchCart : IEntityStreamRequest<Cart, CartSnapshot>;

/// <summary>
/// Reserves every line at its SKU's inventory and closes the cart. Persisted and keyed by
/// <paramref name="OrderId"/>: it survives the runner dying mid-checkout, and a retried checkout with
/// the same order id runs once and gets the first answer.
/// </summary>
[Persisted]
public sealed record Checkout(string OrderId) : IEntityRequest<Cart, CheckoutResult>, IPrimaryKey
{
    public string PrimaryKey => OrderId;
}

/// <summary>One SKU in a cart.</summary>
public sealed record CartLine(string Sku, int Quantity, decimal UnitPrice);

/// <summary>A cart as of <paramref name="Version"/> (incremented on every change) and the runner that holds it.</summary>
public sealed record CartSnapshot(string CartId, CartLine[] Lines, decimal Total, long Version, CartStatus Status, string? OrderId, string Runner);

/// <summary>Whether a cart still takes items.</summary>
public enum CartStatus
{
    Open,
    CheckedOut,
}

/// <summary>
/// The outcome of a <see cref="Checkout"/>: accepted with the reserved lines, or rejected with the reason
/// (empty cart, unknown SKU, not enough stock), in which case nothing stays reserved.
/// </summary>
public sealed record CheckoutResult(string OrderId, bool Accepted, string? Reason, CartLine[] Lines, decimal Total, string Runner);
