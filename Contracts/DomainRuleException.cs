namespace SocketRunnerAspire.Contracts;

/// <summary>
/// A business rule refused the request (the cart is closed, the SKU is not in the catalog). Thrown by
/// entity handlers; senders see it as <c>EntityHandlerException</c> whose <c>ErrorType</c> is this type's
/// full name, and ClientApp answers it with 409 Conflict.
/// </summary>
public sealed class DomainRuleException(string message) : Exception(message);
