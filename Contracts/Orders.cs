using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Contracts;

/// <summary>
/// The shop's checkout as a durable workflow (runners implement it in Runner/Workflows/CheckoutWorkflow.cs): reserve
/// stock per line, charge the payment, let the charge settle (a durable sleep), confirm. A failed charge or a cancel
/// before confirmation releases the reservations (and refunds a charge) in reverse order. The order id is the
/// execution id, so placing the same order twice runs it once.
/// </summary>
public static class Orders
{
    /// <summary>The checkout workflow.</summary>
    public static readonly WorkflowDefinition<PlaceOrder, OrderConfirmation> Checkout =
        Workflow.Define<PlaceOrder, OrderConfirmation>("checkout", order => order.OrderId);
}

/// <summary>
/// An order to check out. <paramref name="Card"/> "declined" makes the simulated payment fail;
/// <paramref name="SettleSeconds"/> is how long the charge settles before the order is confirmed (a cancel fits in it).
/// </summary>
public sealed record PlaceOrder(string OrderId, OrderLine[] Lines, string Card = "4242", int SettleSeconds = 2);

/// <summary>One SKU of an order.</summary>
public sealed record OrderLine(string Sku, int Quantity);

/// <summary>A confirmed order: what was reserved, the charge, and the runners that ran its steps.</summary>
public sealed record OrderConfirmation(string OrderId, CartLine[] Lines, decimal Total, string ChargeId, DateTimeOffset ConfirmedAt);
