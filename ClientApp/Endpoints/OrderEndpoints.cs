using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Workflows;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>
/// Orders as durable checkout workflows (<see cref="Orders.Checkout"/>): placing one starts an execution whose id is the
/// order id, reading one polls its stored state, cancelling one interrupts it (its reservations are released and the
/// charge refunded). The workflow runs on whichever runner owns the order's shard, not in this process.
/// </summary>
public static class OrderEndpoints
{
    /// <summary>Problem type of an order id that was never placed (404).</summary>
    public const string UnknownOrder = "urn:shop:unknown-order";

    /// <summary>Problem type of a cancel that came after the order finished (409).</summary>
    public const string OrderFinished = "urn:shop:order-finished";

    private const int MaxSettleSeconds = 3600;

    public sealed record PlaceOrderRequest(string? OrderId, OrderLine[]? Lines, string? Card = null, int? SettleSeconds = null);

    public sealed record OrderAccepted(string OrderId, string StatusUrl);

    /// <summary>An order's state: <c>pending</c>, <c>suspended</c> (waiting, e.g. while the charge settles), <c>succeeded</c> or <c>failed</c>.</summary>
    public sealed record OrderStatus(
        string OrderId,
        string State,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OrderConfirmation? Confirmation,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OrderError? Error);

    /// <summary>Why an order failed: the type of what the workflow threw, its message, and whether it was cancelled.</summary>
    public sealed record OrderError(string Type, string Message, bool Interrupted);

    public static IEndpointRouteBuilder MapOrderEndpoints(this IEndpointRouteBuilder app)
    {
        var orders = app.MapGroup("/orders").WithTags("Orders");

        // On the app, not the group: the group's prefix plus an empty pattern would route (and trace) as "/orders/".
        app.MapPost("/orders", async Task<Results<Accepted<OrderAccepted>, Ok<OrderStatus>, ValidationProblem>> (
                PlaceOrderRequest request, bool? wait, IEntityClient entities, IWorkflowClient workflows, CancellationToken cancellationToken) =>
            {
                if (Validate(request) is { } errors)
                {
                    return TypedResults.ValidationProblem(errors);
                }

                // The order id is the execution id: placing the same order again runs it once.
                var orderId = string.IsNullOrWhiteSpace(request.OrderId) ? entities.NewSnowflakeId().ToString(System.Globalization.CultureInfo.InvariantCulture) : request.OrderId;
                var order = new PlaceOrder(orderId, request.Lines!, string.IsNullOrWhiteSpace(request.Card) ? "4242" : request.Card,
                    request.SettleSeconds ?? 2);

                if (wait == true)
                {
                    try
                    {
                        var confirmation = await workflows.ExecuteAsync(Orders.Checkout, order, cancellationToken);
                        return TypedResults.Ok(new OrderStatus(orderId, "succeeded", confirmation, null));
                    }
                    catch (WorkflowFailedException failure)
                    {
                        return TypedResults.Ok(new OrderStatus(orderId, "failed", null, ToError(failure)));
                    }
                }

                await workflows.StartAsync(Orders.Checkout, order, cancellationToken);
                return TypedResults.Accepted(StatusPath(orderId), new OrderAccepted(orderId, StatusPath(orderId)));
            })
            .WithTags("Orders")
            .WithName("PlaceOrder")
            .WithSummary("Starts the checkout workflow (reserve each line, charge the card, let it settle, confirm); 202 with the order's Location. " +
                "?wait=true answers with the outcome instead. Card \"declined\" fails the charge.");

        orders.MapGet("/{orderId}", async Task<Results<Ok<OrderStatus>, ProblemHttpResult>> (
                string orderId, IWorkflowClient workflows, CancellationToken cancellationToken) =>
            {
                var status = await workflows.PollAsync(Orders.Checkout, orderId, cancellationToken);
                return status is null ? NotFound(orderId) : TypedResults.Ok(ToView(orderId, status));
            })
            .WithName("GetOrder")
            .WithSummary("The order's state as storage has it: pending, suspended, succeeded (with the confirmation) or failed (with the error).")
            .ProducesProblem(StatusCodes.Status404NotFound);

        orders.MapPost("/{orderId}/cancel", async Task<Results<Accepted, ProblemHttpResult>> (
                string orderId, IWorkflowClient workflows, CancellationToken cancellationToken) =>
            {
                if (await workflows.PollAsync(Orders.Checkout, orderId, cancellationToken) is not { } status)
                {
                    return NotFound(orderId);
                }

                // The workflow may finish between the poll and the interrupt; InterruptAsync then says false.
                return !status.IsComplete && await workflows.InterruptAsync(Orders.Checkout, orderId, cancellationToken)
                    ? TypedResults.Accepted(StatusPath(orderId))
                    : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, type: OrderFinished, title: "The order has already finished.",
                        detail: $"Order {orderId} finished before the cancel; GET {StatusPath(orderId)} has its outcome.");
            })
            .WithName("CancelOrder")
            .WithSummary("Interrupts the order's workflow: it stops at its next step, releases its reservations, refunds the charge and ends failed.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return app;
    }

    private static Dictionary<string, string[]>? Validate(PlaceOrderRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Lines is not { Length: > 0 } lines)
        {
            errors["lines"] = ["An order needs at least one line."];
        }
        else if (lines.Any(line => line is null || string.IsNullOrWhiteSpace(line.Sku) || line.Quantity <= 0))
        {
            errors["lines"] = ["Every line needs a SKU and a positive quantity."];
        }

        if (request.SettleSeconds is < 0 or > MaxSettleSeconds)
        {
            errors["settleSeconds"] = [$"settleSeconds must be between 0 and {MaxSettleSeconds}."];
        }

        return errors.Count == 0 ? null : errors;
    }

    private static OrderStatus ToView(string orderId, WorkflowStatus<OrderConfirmation> status) => status.State switch
    {
        WorkflowState.Succeeded => new OrderStatus(orderId, "succeeded", status.Result, null),
        WorkflowState.Failed => new OrderStatus(orderId, "failed", null, status.Error is { } error ? ToError(error) : null),
        // A suspended execution may carry the failure it is suspended on.
        _ => new OrderStatus(orderId, status.Suspended ? "suspended" : "pending", null, status.Error is { } error ? ToError(error) : null),
    };

    private static OrderError ToError(WorkflowFailedException failure) => new(failure.ErrorType, failure.Message, failure.Interrupted);

    private static ProblemHttpResult NotFound(string orderId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, type: UnknownOrder, title: "No such order.", detail: $"Order {orderId} was never placed.");

    private static string StatusPath(string orderId) => $"/orders/{Uri.EscapeDataString(orderId)}";
}
