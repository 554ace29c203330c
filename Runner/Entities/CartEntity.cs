using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Contracts;
using SocketRunnerAspire.Runner.State;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Runner.Entities;

/// <summary>
/// The runner side of <see cref="Cart"/>. Watch streams stay open for as long as a client reads them, so the
/// entity takes messages concurrently and serializes its changes with <see cref="_changes"/> instead of
/// handling one message at a time (which would let one watcher block the cart). It sends to inventory entities through
/// the injected <see cref="IEntityClient"/>.
/// </summary>
public sealed class CartEntity(EntityContext context, EntityStateStore store, IEntityClient entities) : IDisposable
{
    private sealed record CartState(CartLine[] Lines, long Version, CartStatus Status, string? OrderId)
    {
        public static readonly CartState Empty = new([], 0, CartStatus.Open, null);
    }

    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly List<Channel<CartSnapshot>> _watchers = [];
    private CartState? _state;

    private string Runner => context.Runner?.ToString() ?? "unknown";

    public async ValueTask<CartSnapshot> Get(CancellationToken cancellationToken) =>
        Snapshot(await WithChangesLockAsync(LoadAsync, cancellationToken));

    public ValueTask<CartSnapshot> Add(AddItem message, CancellationToken cancellationToken) => ChangeAsync(async state =>
    {
        RequireOpen(state);
        if (message.Quantity <= 0)
        {
            throw new DomainRuleException("Quantity must be positive.");
        }

        // The SKU's inventory entity prices it; it usually lives on another runner.
        var stock = await entities.GetEntity<Inventory>(message.Sku).AskAsync(new GetStock(), cancellationToken);
        if (!stock.Known)
        {
            throw new DomainRuleException($"'{message.Sku}' is not in the catalog.");
        }

        var quantity = message.Quantity + (state.Lines.FirstOrDefault(l => l.Sku == message.Sku)?.Quantity ?? 0);
        return state with
        {
            Lines = [.. state.Lines.Where(l => l.Sku != message.Sku), new CartLine(message.Sku, quantity, stock.UnitPrice)],
        };
    }, cancellationToken);

    public ValueTask<CartSnapshot> Remove(RemoveItem message, CancellationToken cancellationToken) => ChangeAsync(state =>
    {
        RequireOpen(state);
        return Task.FromResult(state with { Lines = [.. state.Lines.Where(l => l.Sku != message.Sku)] });
    }, cancellationToken);

    public async ValueTask<CheckoutResult> Checkout(Checkout message, CancellationToken cancellationToken)
    {
        CheckoutResult? result = null;
        await ChangeAsync(async state =>
        {
            if (state.Status == CartStatus.CheckedOut)
            {
                result = state.OrderId == message.OrderId
                    ? Accepted(message.OrderId, state.Lines)
                    : Rejected(message.OrderId, $"The cart was already checked out as order {state.OrderId}.");
                return state;
            }

            if (state.Lines.Length == 0)
            {
                result = Rejected(message.OrderId, "The cart is empty.");
                return state;
            }

            // Reservations are persisted and keyed by order id: if this runner dies here, the next owner re-runs
            // the checkout and gets the same reservations back instead of taking stock twice.
            var reservations = await Task.WhenAll(state.Lines.Select(line =>
                entities.GetEntity<Inventory>(line.Sku).AskAsync(new Reserve(message.OrderId, line.Quantity), cancellationToken)));
            var refused = reservations.Where(r => !r.Accepted).ToArray();
            if (refused.Length > 0)
            {
                await Task.WhenAll(reservations.Where(r => r.Accepted).Select(r =>
                    entities.GetEntity<Inventory>(r.Sku).AskAsync(
                        new Release(message.OrderId, state.Lines.First(l => l.Sku == r.Sku).Quantity), cancellationToken)));
                result = Rejected(message.OrderId,
                    "Not enough stock: " + string.Join(", ", refused.Select(r => $"{r.Sku} ({r.Available} left)")) + ".");
                return state;
            }

            result = Accepted(message.OrderId, state.Lines);
            return state with { Status = CartStatus.CheckedOut, OrderId = message.OrderId };
        }, cancellationToken);
        return result!;
    }

    /// <summary>The cart now, then after every change. Slow readers skip to the latest version.</summary>
    public async IAsyncEnumerable<CartSnapshot> Watch([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var changes = Channel.CreateBounded<CartSnapshot>(new BoundedChannelOptions(16)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_watchers)
        {
            _watchers.Add(changes);
        }

        try
        {
            var current = await Get(cancellationToken);
            yield return current;
            await foreach (var next in changes.Reader.ReadAllAsync(cancellationToken))
            {
                if (next.Version > current.Version)
                {
                    current = next;
                    yield return current;
                }
            }
        }
        finally
        {
            lock (_watchers)
            {
                _watchers.Remove(changes);
            }
        }
    }

    private async ValueTask<CartSnapshot> ChangeAsync(Func<CartState, Task<CartState>> change, CancellationToken cancellationToken)
    {
        var snapshot = await WithChangesLockAsync(async () =>
        {
            var state = await LoadAsync();
            var next = await change(state);
            if (ReferenceEquals(next, state))
            {
                return state;
            }

            next = next with { Version = state.Version + 1 };
            await store.SaveAsync(context.Address, next);
            return _state = next;
        }, cancellationToken);

        var published = Snapshot(snapshot);
        lock (_watchers)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(published);
            }
        }

        return published;
    }

    private async Task<T> WithChangesLockAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            return await action();
        }
        finally
        {
            _changes.Release();
        }
    }

    private async Task<CartState> LoadAsync() => _state ??= await store.LoadAsync<CartState>(context.Address) ?? CartState.Empty;

    private static void RequireOpen(CartState state)
    {
        if (state.Status != CartStatus.Open)
        {
            throw new DomainRuleException($"The cart was checked out as order {state.OrderId}; start a new cart.");
        }
    }

    private CartSnapshot Snapshot(CartState state) =>
        new(context.Address.EntityId, state.Lines, Total(state.Lines), state.Version, state.Status, state.OrderId, Runner);

    private CheckoutResult Accepted(string orderId, CartLine[] lines) => new(orderId, true, null, lines, Total(lines), Runner);

    private CheckoutResult Rejected(string orderId, string reason) => new(orderId, false, reason, [], 0m, Runner);

    private static decimal Total(CartLine[] lines) => lines.Sum(l => l.Quantity * l.UnitPrice);

    public void Dispose()
    {
        lock (_watchers)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }
        }

        _changes.Dispose();
    }

    /// <summary>The one place that binds the entity's messages to its handlers.</summary>
    public static void Register(ClusterBuilder cluster) => cluster.AddEntity<Cart, CartEntity>(entity => entity
        .On<GetCart, CartSnapshot>((cart, _, ct) => cart.Get(ct))
        .On<AddItem, CartSnapshot>((cart, message, ct) => cart.Add(message, ct))
        .On<RemoveItem, CartSnapshot>((cart, message, ct) => cart.Remove(message, ct))
        .On<Checkout, CheckoutResult>((cart, message, ct) => cart.Checkout(message, ct))
        .OnStream<WatchCart, CartSnapshot>((cart, _, ct) => cart.Watch(ct))
        // A broken rule answers the caller; anything else is a defect that rebuilds the cart from its store.
        .FailsWith<DomainRuleException>()
        // Watchers hold a handler each for as long as they read; changes are serialized inside the entity.
        .WithConcurrency(0));
}
