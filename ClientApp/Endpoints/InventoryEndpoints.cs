using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>Stock per SKU; each SKU is an inventory entity.</summary>
public static class InventoryEndpoints
{
    public sealed record RestockRequest(int Quantity);

    public static IEndpointRouteBuilder MapInventoryEndpoints(this IEndpointRouteBuilder app)
    {
        var inventory = app.MapGroup("/inventory/{sku}").WithTags("Inventory");

        inventory.MapGet("/", (string sku, IEntityClient entities, CancellationToken cancellationToken) =>
                entities.GetEntity<Inventory>(sku).AskAsync(new GetStock(), cancellationToken))
            .WithName("GetStock").WithSummary("Reads a SKU's stock and price (catalog: apple, banana, coffee, tea, mug, teapot).");

        inventory.MapPost("/restock", (string sku, RestockRequest request, IEntityClient entities, CancellationToken cancellationToken) =>
                entities.GetEntity<Inventory>(sku).AskAsync(new Restock(request.Quantity), cancellationToken))
            .WithName("Restock").WithSummary("Adds stock.");

        return app;
    }
}
