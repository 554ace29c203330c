using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Runner.State;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Runner.Entities;

/// <summary>
/// The runner side of <see cref="Inventory"/>: stock of one SKU. Handles one message at a time, so reservations never oversell.
/// </summary>
/// <remarks>
/// Persisted messages are delivered at least once: a runner that dies after saving the new stock but before the
/// reply was saved leaves the message in storage, and the shard's next owner runs it again. So the state records
/// what each order holds in the same write as the stock it took, and <see cref="Reserve"/> and <see cref="Release"/>
/// are idempotent per order id (MessageStorage's primary key de-duplicates only messages whose reply was saved).
/// A released order's record is dropped: its reservation's reply was saved before anyone could release it, so that
/// reservation is never re-run, and a re-run release finds nothing to give back. The records are bounded by the stock.
/// </remarks>
public sealed partial class InventoryEntity(EntityContext context, EntityStateStore store, ILogger<InventoryEntity> logger)
{
    /// <summary>Stock, and the quantity each order with a live reservation holds.</summary>
    private sealed record InventoryState(int Available, Dictionary<string, int>? Orders = null)
    {
        public Dictionary<string, int> Orders { get; init; } = Orders ?? new(StringComparer.Ordinal);
    }

    private readonly bool _known = Catalog.TryFind(context.Address.EntityId, out _);
    private InventoryState? _state;

    private string Sku => context.Address.EntityId;

    private string Runner => context.Runner?.ToString() ?? "unknown";

    private decimal UnitPrice => Catalog.TryFind(Sku, out var item) ? item.UnitPrice : 0m;

    public async ValueTask<StockLevel> GetStock() => Level(await LoadAsync());

    public async ValueTask<StockLevel> Restock(Restock message)
    {
        if (!_known)
        {
            throw new DomainRuleException($"'{Sku}' is not in the catalog.");
        }

        if (message.Quantity <= 0)
        {
            throw new DomainRuleException("Restock quantity must be positive.");
        }

        var state = await LoadAsync();
        return Level(await SaveAsync(state with { Available = state.Available + message.Quantity }));
    }

    public async ValueTask<Reservation> Reserve(Reserve message)
    {
        var state = await LoadAsync();
        if (state.Orders.TryGetValue(message.OrderId, out var held))
        {
            // A re-run (or a resend after the stored reply expired): the order already holds its stock.
            LogAlreadyReserved(logger, message.OrderId, held, Sku);
            return new Reservation(Sku, message.OrderId, true, state.Available, Runner);
        }

        if (!_known || message.Quantity <= 0 || message.Quantity > state.Available)
        {
            return new Reservation(Sku, message.OrderId, false, state.Available, Runner);
        }

        state = await SaveAsync(state with
        {
            Available = state.Available - message.Quantity,
            Orders = new(state.Orders, StringComparer.Ordinal) { [message.OrderId] = message.Quantity },
        });
        return new Reservation(Sku, message.OrderId, true, state.Available, Runner);
    }

    /// <summary>Gives back what <see cref="Release.OrderId"/> holds, once; an order that holds nothing releases nothing.</summary>
    public async ValueTask<StockLevel> Release(Release message)
    {
        var state = await LoadAsync();
        if (!state.Orders.TryGetValue(message.OrderId, out var held))
        {
            return Level(state);
        }

        var orders = new Dictionary<string, int>(state.Orders, StringComparer.Ordinal);
        orders.Remove(message.OrderId);
        return Level(await SaveAsync(state with { Available = state.Available + held, Orders = orders }));
    }

    private StockLevel Level(InventoryState state) => new(Sku, _known, state.Available, UnitPrice, Runner);

    private async ValueTask<InventoryState> LoadAsync() =>
        _state ??= await store.LoadAsync<InventoryState>(context.Address)
            ?? new InventoryState(Catalog.TryFind(Sku, out var item) ? item.InitialStock : 0);

    private async ValueTask<InventoryState> SaveAsync(InventoryState state)
    {
        await store.SaveAsync(context.Address, state);
        return _state = state;
    }

    /// <summary>The one place that binds the entity's messages to its handlers.</summary>
    public static void Register(ClusterBuilder cluster) => cluster.AddEntity<Inventory, InventoryEntity>(entity => entity
        .On<GetStock, StockLevel>((inventory, _) => inventory.GetStock())
        .On<Restock, StockLevel>((inventory, message) => inventory.Restock(message))
        .On<Reserve, Reservation>((inventory, message) => inventory.Reserve(message))
        .On<Release, StockLevel>((inventory, message) => inventory.Release(message))
        .FailsWith<DomainRuleException>());

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} already holds {Quantity} of {Sku}; not reserved again (a re-run after a crash, or a resend)")]
    private static partial void LogAlreadyReserved(ILogger logger, string orderId, int quantity, string sku);
}
