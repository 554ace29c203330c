using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// How an entity recovers from a defect (an exception its handler threw that the entity type does not declare with
/// <see cref="EntityDefinition{TContract, TEntity}.FailsWith{TException}"/>): the instance discards its handler object,
/// waits <see cref="FirstDelay"/> (growing by <see cref="Factor"/> per restart in a row, at most <see cref="MaxDelay"/>),
/// builds a fresh one and runs its in-flight requests again. A request is run at most <see cref="MaxAttempts"/> times;
/// the run that exhausts it answers the caller with the <see cref="Errors.EntityHandlerException"/> (a persisted
/// request saves that as its reply), and the object is rebuilt all the same, since the defect may have left it broken;
/// the entity then carries on with its other requests. Set with
/// <see cref="EntityDefinition{TContract, TEntity}.WithDefectRetryPolicy"/>.
/// </summary>
/// <remarks>
/// <see cref="Default"/> (3 attempts, 500 ms × 1.5 up to 10 s) follows Effect's construction-retry schedule. An Akka
/// supervisor's default restart, which drops the failing message, is <c>MaxAttempts = 1</c>; Orleans, which keeps the
/// grain and only answers the caller, is <see cref="EntityDefinition{TContract, TEntity}.DisableFatalDefects"/>.
/// </remarks>
public sealed class DefectRetryPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="maxAttempts">Runs of one request, the first included, before its defect is answered (at least 1).</param>
    /// <param name="firstDelay">The wait before the first restart in a row.</param>
    /// <param name="maxDelay">The longest wait.</param>
    /// <param name="factor">How much each further restart in a row waits longer (at least 1).</param>
    public DefectRetryPolicy(int maxAttempts, TimeSpan firstDelay, TimeSpan maxDelay, double factor = 1.5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(firstDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, firstDelay);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        MaxAttempts = maxAttempts;
        FirstDelay = firstDelay;
        MaxDelay = maxDelay;
        Factor = factor;
    }

    /// <summary>3 attempts; restarts wait 500 ms, growing × 1.5 to at most 10 s.</summary>
    public static DefectRetryPolicy Default { get; } = new(3, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));

    /// <summary>Runs of one request, the first included, before its defect is answered.</summary>
    public int MaxAttempts { get; }

    /// <summary>The wait before the first restart in a row.</summary>
    public TimeSpan FirstDelay { get; }

    /// <summary>The longest wait between restarts.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>How much each further restart in a row waits longer.</summary>
    public double Factor { get; }

    /// <summary>The restart schedule of one instance (jittered, so entities that broke together do not rebuild in step).</summary>
    internal Backoff CreateBackoff() => new(FirstDelay, MaxDelay, Factor);
}
