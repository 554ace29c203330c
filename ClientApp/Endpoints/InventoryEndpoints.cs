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

        inventory.MapGet("/", (string sku, Sharding sharding, CancellationToken cancellationToken) =>
                sharding.GetEntity<Inventory>(sku).AskAsync(new GetStock(), cancellationToken))
            .WithName("GetStock").WithSummary("Reads a SKU's stock and price (catalog: apple, banana, coffee, tea, mug, teapot).");

        inventory.MapPost("/restock", (string sku, RestockRequest request, Sharding sharding, CancellationToken cancellationToken) =>
                sharding.GetEntity<Inventory>(sku).AskAsync(new Restock(request.Quantity), cancellationToken))
            .WithName("Restock").WithSummary("Adds stock.");

        return app;
    }
}
