using Cronos;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Cron;

/// <summary>
/// A named cron schedule whose job runs once per tick cluster-wide (Effect's <c>ClusterCron</c>, Orleans reminders).
/// Register with <see cref="ClusterBuilder.AddCron"/>.
/// </summary>
public sealed class CronRegistration
{
    internal CronRegistration(string name, string expression, Func<CronContext, CancellationToken, Task> execute, ClusterCronOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(expression);
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            Expression = CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new ArgumentException($"Cron '{name}': '{expression}' is not a cron expression (5 fields, or 6 with seconds first): {ex.Message}", nameof(expression), ex);
        }

        Name = name;
        Execute = execute;
        Options = options;
    }

    /// <summary>The schedule's name, unique in the cluster.</summary>
    public string Name { get; }

    /// <summary>The parsed schedule.</summary>
    public CronExpression Expression { get; }

    /// <summary>Its options.</summary>
    public ClusterCronOptions Options { get; }

    internal Func<CronContext, CancellationToken, Task> Execute { get; }

    /// <summary>The first tick strictly after <paramref name="time"/>.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset time) => Expression.GetNextOccurrence(time, Options.TimeZone);
}
