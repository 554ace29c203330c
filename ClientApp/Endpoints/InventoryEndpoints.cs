using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Http;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>
/// Stock per SKU; each SKU is an inventory entity. The entity proxy maps <c>POST /inventory/{sku}/GetStock</c> and
/// <c>…/Restock</c>; reserving and releasing stay between carts and inventory.
/// </summary>
public static class InventoryEndpoints
{
    public static IEndpointRouteBuilder MapInventoryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapEntityProxy<Inventory>("/inventory", proxy => proxy
            .Except<Reserve>()
            .Except<Release>()
            .HandlerError<DomainRuleException>(StatusCodes.Status409Conflict));

        // A GET for browsers and curl; the same as the proxy's POST /inventory/{sku}/GetStock.
        app.MapGet("/inventory/{sku}", (string sku, IEntityClient entities, CancellationToken cancellationToken) =>
                entities.GetEntity<Inventory>(sku).AskAsync(new GetStock(), cancellationToken))
            .WithTags("Inventory")
            .WithName("GetStock").WithSummary("Reads a SKU's stock and price (catalog: apple, banana, coffee, tea, mug, teapot).");

        return app;
    }
}
