using System.Collections.Concurrent;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.Runner.Workflows;

/// <summary>
/// A simulated payment provider, as the checkout workflow's charge activity sees one: a call that takes a little while,
/// keyed by the order (real providers take an idempotency key, so a retried charge does not charge twice), declined for
/// the card "declined". The provider's memory is this process's: its charge ids carry an id of this instance, so a
/// charge a crashed runner made and the next owner made again are told apart.
/// </summary>
public sealed partial class PaymentGateway(ILogger<PaymentGateway> logger)
{
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(30);

    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentDictionary<string, decimal> _charges = new(StringComparer.Ordinal);

    /// <summary>Charges <paramref name="amount"/> for <paramref name="orderId"/> and returns the charge id.</summary>
    /// <exception cref="DomainRuleException">The card was declined.</exception>
    public async Task<string> ChargeAsync(string orderId, decimal amount, string card, CancellationToken cancellationToken)
    {
        await Task.Delay(Latency, cancellationToken);
        if (string.Equals(card, "declined", StringComparison.OrdinalIgnoreCase))
        {
            LogDeclined(logger, orderId, amount);
            throw new DomainRuleException($"The card was declined for {amount:0.00}.");
        }

        var chargeId = $"ch_{orderId}_{_instance}";
        _charges[chargeId] = amount;
        LogCharged(logger, chargeId, amount);
        return chargeId;
    }

    /// <summary>Refunds a charge (the compensation of a charge whose order did not complete).</summary>
    public async Task RefundAsync(string chargeId, CancellationToken cancellationToken)
    {
        await Task.Delay(Latency, cancellationToken);
        if (_charges.TryRemove(chargeId, out var amount))
        {
            LogRefunded(logger, chargeId, amount);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Charged {ChargeId}: {Amount}")]
    private static partial void LogCharged(ILogger logger, string chargeId, decimal amount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Declined the charge of order {OrderId}: {Amount}")]
    private static partial void LogDeclined(ILogger logger, string orderId, decimal amount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refunded {ChargeId}: {Amount}")]
    private static partial void LogRefunded(ILogger logger, string chargeId, decimal amount);
}
