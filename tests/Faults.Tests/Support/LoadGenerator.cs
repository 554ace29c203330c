using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>How a call ended.</summary>
public enum Outcome
{
    Success,

    /// <summary>A <see cref="ClusterException"/>: the caller can tell what happened.</summary>
    Typed,

    /// <summary>Any other exception: a bug.</summary>
    Other,

    /// <summary>No answer within the call's bound: a bug.</summary>
    Hang,
}

/// <summary>One call the load generator made.</summary>
public sealed record CallRecord(string Rpc, bool Persisted, string Phase, Outcome Outcome, string? Error, TimeSpan Elapsed);

/// <summary>What the load generator sends.</summary>
public sealed class LoadOptions
{
    public int Workers { get; init; } = 8;

    /// <summary>Pause of each worker between two operations (steady load rather than flat out).</summary>
    public TimeSpan Pause { get; init; } = TimeSpan.FromMilliseconds(40);

    public int Counters { get; init; } = 200;

    /// <summary>Share of operations that reserve stock (persisted, keyed by a new order id).</summary>
    public double ReserveShare { get; init; } = 0.3;

    /// <summary>Share of operations that fill a new cart and check it out (persisted, keyed by a new order id).</summary>
    public double CheckoutShare { get; init; } = 0.05;

    /// <summary>Share of reservations sent again with the same order id, after the first answer.</summary>
    public double ResendShare { get; init; } = 0.2;

    /// <summary>Share of reservations sent twice at once with the same order id.</summary>
    public double ConcurrentDuplicateShare { get; init; } = 0.1;

    /// <summary>Share of accepted reservations released again (persisted, keyed by the order id).</summary>
    public double ReleaseShare { get; init; } = 0.3;
}

/// <summary>
/// Sends a steady mix from a client-only node: volatile Counter increments and Inventory reads, persisted keyed
/// Inventory reservations (some re-sent with the same order id, some twice at once), releases and cart checkouts.
/// Records every outcome; every call is bounded (<see cref="ClusterTimings"/>) and one that exceeds its bound is
/// recorded as a hang. Afterwards <see cref="ReconcileAsync"/> re-sends persisted messages that got no answer (as a
/// caller told "resend with the same key" would) and <see cref="ExpectedStock"/> says what the inventories must hold.
/// </summary>
public sealed class LoadGenerator(IEntityClient entities, LoadOptions options)
{
    public static readonly string[] Skus = ["apple", "banana", "coffee", "tea", "mug", "teapot"];

    private readonly ConcurrentQueue<CallRecord> _calls = new();
    private readonly ConcurrentDictionary<string, Order> _orders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly Dictionary<string, int> _initialStock = new(StringComparer.Ordinal);
    private volatile string _phase = "start";

    /// <summary>Labels the calls started from now on (e.g. before and after a kill).</summary>
    public string Phase
    {
        get => _phase;
        set => _phase = value;
    }

    public IReadOnlyCollection<CallRecord> Calls => _calls;

    public IReadOnlyCollection<Order> Orders => _orders.Values.ToArray();

    /// <summary>Reads every SKU's stock before the load (each test has its own cluster name, so its own state).</summary>
    public async Task ReadInitialStockAsync()
    {
        foreach (var sku in Skus)
        {
            _initialStock[sku] = (await entities.GetEntity<Inventory>(sku).AskAsync(new GetStock())).Available;
        }
    }

    /// <summary>Runs the workers until <paramref name="stop"/>, then waits for every call they started (each is bounded).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        await Task.WhenAll(Enumerable.Range(0, options.Workers).Select(worker => Task.Run(() => WorkerAsync(worker, stop))));
        await DrainAsync();
    }

    public async Task DrainAsync()
    {
        while (!_inFlight.IsEmpty)
        {
            await Task.WhenAll(_inFlight.Keys.ToArray());
        }
    }

    /// <summary>Re-sends, with the same order id, every reservation, release and checkout that got no answer.</summary>
    public async Task ReconcileAsync()
    {
        Phase = "reconcile";
        foreach (var order in _orders.Values)
        {
            if (order.Sku is { } sku && order.Reservations.IsEmpty)
            {
                await ReserveAsync(order, sku, order.Quantity);
            }

            if (order.ReleaseRequested && order.Releases.IsEmpty)
            {
                await ReleaseAsync(order);
            }

            if (order.Cart is { } cart && order.Checkouts.IsEmpty)
            {
                await CheckoutAsync(order, cart);
            }
        }

        await DrainAsync();
    }

    /// <summary>What each SKU must hold: its stock before the load minus what every order still holds (each once).</summary>
    public Dictionary<string, int> ExpectedStock()
    {
        var expected = new Dictionary<string, int>(_initialStock, StringComparer.Ordinal);
        foreach (var order in _orders.Values)
        {
            foreach (var (sku, quantity) in order.Holds())
            {
                expected[sku] -= quantity;
            }
        }

        return expected;
    }

    public async Task<Dictionary<string, int>> ReadStockAsync()
    {
        var stock = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var sku in Skus)
        {
            stock[sku] = (await entities.GetEntity<Inventory>(sku).AskAsync(new GetStock())).Available;
        }

        return stock;
    }

    /// <summary>Outcome counts by phase, RPC and outcome, and the slowest calls, for the test output.</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        foreach (var group in _calls.GroupBy(c => (c.Phase, c.Rpc, c.Outcome)).OrderBy(g => g.Key.Phase).ThenBy(g => g.Key.Rpc).ThenBy(g => g.Key.Outcome))
        {
            var errors = string.Join("; ", group.Where(c => c.Error is not null).GroupBy(c => c.Error).Select(e => $"{e.Count()}x {e.Key}").Take(4));
            text.AppendLine($"{group.Key.Phase,-10} {group.Key.Rpc,-18} {group.Key.Outcome,-8} {group.Count(),6}  max {group.Max(c => c.Elapsed.TotalMilliseconds),8:0} ms  {errors}");
        }

        return text.ToString();
    }

    private async Task WorkerAsync(int worker, CancellationToken stop)
    {
        var random = new Random(worker * 7919 + Environment.TickCount);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var roll = random.NextDouble();
            if (roll < options.ReserveShare)
            {
                var order = _orders.GetOrAdd($"r-{worker}-{n}", id => new Order(id));
                order.Sku = Skus[random.Next(Skus.Length)];
                order.Quantity = random.Next(1, 3);
                if (random.NextDouble() < options.ConcurrentDuplicateShare)
                {
                    await Task.WhenAll(ReserveAsync(order, order.Sku, order.Quantity), ReserveAsync(order, order.Sku, order.Quantity));
                }
                else
                {
                    await ReserveAsync(order, order.Sku, order.Quantity);
                }

                if (random.NextDouble() < options.ResendShare)
                {
                    await ReserveAsync(order, order.Sku, order.Quantity);
                }

                if (order.Reservations.Any(r => r.Accepted) && random.NextDouble() < options.ReleaseShare)
                {
                    order.ReleaseRequested = true;
                    await ReleaseAsync(order);
                }
            }
            else if (roll < options.ReserveShare + options.CheckoutShare)
            {
                var cart = $"cart-{worker}-{n}-{Guid.NewGuid():N}";
                var sku = Skus[random.Next(Skus.Length)];
                var added = await Track("Cart.AddItem", persisted: false, () => entities.GetEntity<Cart>(cart).AskAsync(new AddItem(sku, random.Next(1, 3))));
                if (added is not null)
                {
                    await CheckoutAsync(_orders.GetOrAdd($"k-{worker}-{n}", id => new Order(id) { Cart = cart }), cart);
                }
            }
            else if (roll < 0.5 + (options.ReserveShare + options.CheckoutShare) / 2)
            {
                await Track("Counter.Increment", persisted: false, () => entities.GetEntity<Counter>($"c-{random.Next(options.Counters)}").AskAsync(new Increment(1)));
            }
            else
            {
                await Track("Inventory.GetStock", persisted: false, () => entities.GetEntity<Inventory>(Skus[random.Next(Skus.Length)]).AskAsync(new GetStock()));
            }

            try
            {
                await Task.Delay(options.Pause, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReserveAsync(Order order, string sku, int quantity)
    {
        var reply = await Track("Inventory.Reserve", persisted: true, () => entities.GetEntity<Inventory>(sku).AskAsync(new Reserve(order.Id, quantity)));
        if (reply is not null)
        {
            order.Reservations.Enqueue(reply);
        }
    }

    private async Task ReleaseAsync(Order order)
    {
        var reply = await Track("Inventory.Release", persisted: true, () => entities.GetEntity<Inventory>(order.Sku!).AskAsync(new Release(order.Id, order.Quantity)));
        if (reply is not null)
        {
            order.Releases.Enqueue(reply);
        }
    }

    private async Task CheckoutAsync(Order order, string cart)
    {
        var reply = await Track("Cart.Checkout", persisted: true, () => entities.GetEntity<Cart>(cart).AskAsync(new Checkout(order.Id)));
        if (reply is not null)
        {
            order.Checkouts.Enqueue(reply);
        }
    }

    /// <summary>Runs one call, bounded: records its outcome and returns its reply (null when it failed or hung).</summary>
    private async Task<T?> Track<T>(string rpc, bool persisted, Func<Task<T>> call) where T : class
    {
        var phase = Phase;
        var started = Stopwatch.GetTimestamp();
        Task<T> task;
        try
        {
            task = call();
        }
        catch (Exception ex)
        {
            task = Task.FromException<T>(ex);
        }

        var bound = persisted ? ClusterTimings.PersistedCallBound : ClusterTimings.VolatileCallBound;
        var watched = WatchAsync();
        _inFlight.TryAdd(watched, 0);
        try
        {
            return await watched;
        }
        finally
        {
            _inFlight.TryRemove(watched, out _);
        }

        async Task<T?> WatchAsync()
        {
            await Task.Yield();
            if (await Task.WhenAny(task, Task.Delay(bound)) != task)
            {
                _ = task.ContinueWith(t => t.Exception, TaskScheduler.Default);
                _calls.Enqueue(new CallRecord(rpc, persisted, phase, Outcome.Hang, $"no answer within {bound.TotalSeconds:0} s", Stopwatch.GetElapsedTime(started)));
                return null;
            }

            try
            {
                var reply = await task;
                _calls.Enqueue(new CallRecord(rpc, persisted, phase, Outcome.Success, null, Stopwatch.GetElapsedTime(started)));
                return reply;
            }
            catch (ClusterException ex)
            {
                _calls.Enqueue(new CallRecord(rpc, persisted, phase, Outcome.Typed, ex.GetType().Name, Stopwatch.GetElapsedTime(started)));
            }
            catch (Exception ex)
            {
                _calls.Enqueue(new CallRecord(rpc, persisted, phase, Outcome.Other, $"{ex.GetType().FullName}: {ex.Message}", Stopwatch.GetElapsedTime(started)));
            }

            return null;
        }
    }

    /// <summary>An order id and every answer its persisted messages got.</summary>
    public sealed class Order(string id)
    {
        public string Id { get; } = id;

        /// <summary>The SKU a reservation order reserves from (null for a checkout order).</summary>
        public string? Sku { get; set; }

        public int Quantity { get; set; }

        /// <summary>The cart a checkout order checks out (null for a reservation order).</summary>
        public string? Cart { get; init; }

        public volatile bool ReleaseRequested;

        public ConcurrentQueue<Reservation> Reservations { get; } = new();

        public ConcurrentQueue<StockLevel> Releases { get; } = new();

        public ConcurrentQueue<CheckoutResult> Checkouts { get; } = new();

        /// <summary>What the order still holds according to its answers.</summary>
        public IEnumerable<(string Sku, int Quantity)> Holds()
        {
            if (Sku is { } sku && Reservations.TryPeek(out var reservation) && reservation.Accepted && Releases.IsEmpty)
            {
                yield return (sku, Quantity);
            }

            if (Checkouts.TryPeek(out var checkout) && checkout.Accepted)
            {
                foreach (var line in checkout.Lines)
                {
                    yield return (line.Sku, line.Quantity);
                }
            }
        }
    }
}
