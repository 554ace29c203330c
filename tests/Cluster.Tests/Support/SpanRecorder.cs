using System.Collections.Concurrent;
using System.Diagnostics;
using SocketRunnerAspire.Cluster.Observability;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Records every span of the cluster's ActivitySource that stops while it is alive (filter by trace id: tests run in parallel).</summary>
public sealed class SpanRecorder : IDisposable
{
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ClusterDiagnostics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public ConcurrentQueue<Activity> Spans { get; } = new();

    public Activity[] InTrace(ActivityTraceId trace) => Spans.Where(s => s.TraceId == trace).ToArray();

    public void Dispose() => _listener.Dispose();
}
