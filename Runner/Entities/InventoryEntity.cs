using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Runner.State;

namespace SocketRunnerAspire.Runner.Entities;

/// <summary>The runner side of <see cref="Inventory"/>: stock of one SKU. Handles one message at a time, so reservations never oversell.</summary>
[EntityName("Inventory")]
public sealed class InventoryEntity(EntityContext context, EntityStateStore store)
{
    private sealed record InventoryState(int Available);

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
        if (!_known || message.Quantity <= 0 || message.Quantity > state.Available)
        {
            return new Reservation(Sku, message.OrderId, false, state.Available, Runner);
        }

        state = await SaveAsync(state with { Available = state.Available - message.Quantity });
        return new Reservation(Sku, message.OrderId, true, state.Available, Runner);
    }

    public async ValueTask<StockLevel> Release(Release message)
    {
        var state = await LoadAsync();
        return Level(await SaveAsync(state with { Available = state.Available + message.Quantity }));
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
    public static void Register(ClusterBuilder cluster) => cluster.AddEntity(
        context => new InventoryEntity(context, context.Services.GetRequiredService<EntityStateStore>()),
        entity => entity
            .On<GetStock, StockLevel>((inventory, _, _, _) => inventory.GetStock())
            .On<Restock, StockLevel>((inventory, message, _, _) => inventory.Restock(message))
            .On<Reserve, Reservation>((inventory, message, _, _) => inventory.Reserve(message))
            .On<Release, StockLevel>((inventory, message, _, _) => inventory.Release(message)));
}
