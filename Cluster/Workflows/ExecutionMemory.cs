using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Workflows.Wire;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// What one execution's instance has learnt of its stored steps (completed deferreds, activity outcomes), so its
/// replays skip the round trip to storage. Only a cache: a new owner starts empty and reads storage.
/// </summary>
internal sealed class ExecutionMemory
{
    private readonly ConcurrentDictionary<string, DeferredExit> _deferreds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ActivityOutcome> _outcomes = new(StringComparer.Ordinal);

    public bool TryGetDeferred(string name, out DeferredExit exit) => _deferreds.TryGetValue(name, out exit!);

    /// <summary>The completion of deferred <paramref name="name"/>; the first one stored wins when <paramref name="overwrite"/> is false.</summary>
    public void RememberDeferred(string name, DeferredExit exit, bool overwrite)
    {
        if (overwrite)
        {
            _deferreds[name] = exit;
        }
        else
        {
            _deferreds.TryAdd(name, exit);
        }
    }

    public bool TryGetOutcome(string key, out ActivityOutcome outcome) => _outcomes.TryGetValue(key, out outcome!);

    public ActivityOutcome RememberOutcome(string key, ActivityOutcome outcome)
    {
        _outcomes[key] = outcome;
        return outcome;
    }

    /// <summary>Forgets an attempt's outcome (a failed attempt reset so that a resume runs it again).</summary>
    public void ForgetOutcome(string key) => _outcomes.TryRemove(key, out _);
}
