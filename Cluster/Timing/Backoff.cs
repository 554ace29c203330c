namespace SocketRunnerAspire.Cluster.Timing;

/// <summary>
/// Exponential back-off with jitter, the one schedule behind every retry the runtime waits out (transport reconnects,
/// health pings, singleton restarts). Each delay is the current step plus up to a quarter of it at random: never sooner
/// than the documented schedule, yet nodes that failed together do not retry in lock-step. Not thread-safe: one per
/// retrying thing.
/// </summary>
internal sealed class Backoff
{
    private readonly TimeSpan _first;
    private readonly TimeSpan _max;
    private readonly double _factor;
    private readonly Random _random;
    private int _attempt;

    /// <param name="first">The step of the first retry.</param>
    /// <param name="max">The largest step.</param>
    /// <param name="factor">How much each step grows; 1 keeps every step at <paramref name="first"/>.</param>
    /// <param name="random">The jitter's source (tests pass a seeded one).</param>
    public Backoff(TimeSpan first, TimeSpan max, double factor = 2, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, first);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        _first = first;
        _max = max;
        _factor = factor;
        _random = random ?? Random.Shared;
    }

    /// <summary>Retries so far (calls of <see cref="Next"/> since the last <see cref="Reset"/>).</summary>
    public int Attempts => _attempt;

    /// <summary>The current step without jitter: first × factor^attempts, at most max.</summary>
    public TimeSpan Step => TimeSpan.FromTicks((long)Math.Min(_max.Ticks, _first.Ticks * Math.Pow(_factor, Math.Min(_attempt, 64))));

    /// <summary>The largest share of a step added as jitter.</summary>
    public const double Jitter = 0.25;

    /// <summary>The delay before the next retry: the current step plus up to <see cref="Jitter"/> of it; then the step grows.</summary>
    public TimeSpan Next()
    {
        var step = Step;
        _attempt++;
        return step + TimeSpan.FromTicks((long)(_random.NextDouble() * Jitter * step.Ticks));
    }

    /// <summary>After a success: the next failure starts again from the first step.</summary>
    public void Reset() => _attempt = 0;
}
