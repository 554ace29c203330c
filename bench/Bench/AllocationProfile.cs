using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace SocketRunnerAspire.Bench;

/// <summary>
/// `--alloc-profile`: samples the runtime's GC AllocationTick events (one per ~100 KB allocated, naming the type
/// that crossed the threshold) and prints, per measured run, which types the allocated bytes went to.
/// Sampled, so a type's share is an estimate; the run's B/req total stays exact.
/// </summary>
public sealed class AllocationProfile : EventListener
{
    private const int AllocationTickAmountField = 0;
    private const int TypeNameField = 5;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _recording;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is not { } payload)
        {
            return;
        }

        var amount = Convert.ToInt64(payload[AllocationTickAmountField], CultureInfo.InvariantCulture);
        var type = payload.Count > TypeNameField ? payload[TypeNameField] as string ?? "?" : "?";
        _bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }

    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    /// <summary>Stops recording and renders the types with their estimated bytes per request.</summary>
    public string Stop(int requests)
    {
        _recording = false;
        var total = _bytesByType.Values.Sum();
        var text = new StringBuilder();
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(30))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {bytes / (double)requests,8:N1} B/req {100.0 * bytes / Math.Max(total, 1),5:N1}%  {type}");
        }

        return text.ToString();
    }
}
