using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Workflows;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Runner.Entities;

namespace SocketRunnerAspire.Runner.Workflows;

/// <summary>
/// The runner side of <see cref="Orders.Checkout"/>. Every side effect is an activity, so a replay (after the settle
/// sleep, a restart or a shard move) skips the steps that completed; each completed reservation and the charge register
/// a compensation, which a failure or a cancel runs in reverse order.
/// </summary>
public static class CheckoutWorkflow
{
    public static void Register(ClusterBuilder cluster) => cluster.AddWorkflow(Orders.Checkout, RunAsync);

    public static async Task<OrderConfirmation> RunAsync(WorkflowContext flow, PlaceOrder order, CancellationToken cancellationToken)
    {
        if (order.Lines.Length == 0)
        {
            throw new DomainRuleException("The order has no lines.");
        }

        var lines = new List<CartLine>(order.Lines.Length);
        foreach (var line in order.Lines)
        {
            var price = Catalog.TryFind(line.Sku, out var item) ? item.UnitPrice : throw new DomainRuleException($"'{line.Sku}' is not in the catalog.");
            await flow.RunAsync($"reserve {line.Sku}", async ct =>
            {
                var reservation = await flow.Entities.GetEntity<Inventory>(line.Sku).AskAsync(new Reserve(order.OrderId, line.Quantity), ct);
                return reservation.Accepted
                    ? reservation.Available
                    : throw new DomainRuleException($"Not enough {line.Sku}: {line.Quantity} asked, {reservation.Available} left.");
            }, (_, ct) => flow.Entities.GetEntity<Inventory>(line.Sku).AskAsync(new Release(order.OrderId, line.Quantity), ct));
            lines.Add(new CartLine(line.Sku, line.Quantity, price));
        }

        var total = lines.Sum(l => l.Quantity * l.UnitPrice);
        var payments = flow.Services.GetRequiredService<PaymentGateway>();
        var ledger = flow.Services.GetRequiredService<CheckoutLedger>();
        var chargeId = await flow.RunAsync("charge", async ct => await ledger.RecordAsync(order.OrderId, "charge", await payments.ChargeAsync(order.OrderId, total, order.Card, ct)),
            (charge, ct) => payments.RefundAsync(charge, ct));

        await flow.SleepAsync("settle", TimeSpan.FromSeconds(Math.Clamp(order.SettleSeconds, 0, 3600)));

        var confirmedAt = await flow.RunAsync("confirm", _ => ledger.RecordAsync(order.OrderId, "confirm", DateTimeOffset.UtcNow));
        return new OrderConfirmation(order.OrderId, [.. lines], total, chargeId, confirmedAt);
    }
}
