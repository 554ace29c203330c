using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Http;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>
/// The shop's carts over HTTP; each call goes to the cart's entity on whichever runner owns it. The entity proxy
/// maps the plain RPCs (<c>POST /carts/{id}/GetCart</c>, <c>…/RemoveItem</c>, <c>…/WatchCart</c>); the endpoints here
/// are the ones with logic of their own.
/// </summary>
public static class CartEndpoints
{
    public sealed record AddItemRequest(string Sku, int Quantity = 1);

    public sealed record CheckoutRequest(string? OrderId);

    public static IEndpointRouteBuilder MapCartEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapEntityProxy<Cart>("/carts", proxy => proxy
            .Except<AddItem>()
            .Except<Checkout>()
            .HandlerError<DomainRuleException>(StatusCodes.Status409Conflict));

        var carts = app.MapGroup("/carts/{cartId}").WithTags("Cart");

        carts.MapPost("/items", async Task<IResult> (string cartId, AddItemRequest item, IEntityClient entities, CancellationToken cancellationToken) =>
            {
                if (string.IsNullOrWhiteSpace(item.Sku) || item.Quantity <= 0)
                {
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["item"] = ["A SKU and a positive quantity are required."],
                    });
                }

                return TypedResults.Ok(await entities.GetEntity<Cart>(cartId).AskAsync(new AddItem(item.Sku, item.Quantity), cancellationToken));
            })
            .WithName("AddItem").WithSummary("Adds an item; the cart asks the SKU's inventory entity (often on another runner) for its price.");

        carts.MapPost("/checkout", async Task<IResult> (string cartId, CheckoutRequest? request, IEntityClient entities, CancellationToken cancellationToken) =>
            {
                // The order id is the idempotency key: retrying a checkout with the same id runs it once.
                var orderId = string.IsNullOrWhiteSpace(request?.OrderId) ? Guid.NewGuid().ToString("N") : request.OrderId;
                var result = await entities.GetEntity<Cart>(cartId).AskAsync(new Checkout(orderId), cancellationToken);
                return result.Accepted ? TypedResults.Ok(result) : TypedResults.Conflict(result);
            })
            .WithName("Checkout")
            .WithSummary("Reserves every line at its inventory and closes the cart; persisted, and run once per order id.");

        // A GET for browsers and curl -N; the proxy's POST /carts/{cartId}/WatchCart streams the same.
        carts.MapGet("/watch", (string cartId, IEntityClient entities, CancellationToken cancellationToken) =>
                TypedResults.ServerSentEvents(entities.GetEntity<Cart>(cartId).StreamAsync(new WatchCart(), cancellationToken), eventType: "cart"))
            .WithName("WatchCart").WithSummary("Server-sent events: the cart now and after every change.");

        return app;
    }
}
