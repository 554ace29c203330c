using System.Collections.Concurrent;
using System.Diagnostics;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Observability;

public sealed class ClusterDiagnosticsTests
{
    [Fact]
    public async Task HandleSpanIsAChildOfTheSendSpanAcrossTheTransport()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ClusterDiagnostics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var cluster = await TestCluster.StartAsync(2);

        using var root = new Activity("test-root").Start();
        var runner = await cluster.Client.GetEntity<CounterEntity>("traced").AskAsync(new WhereAmI());
        root.Stop();

        var send = Assert.Single(spans, s => s.OperationName == "send Counter.WhereAmI" && s.TraceId == root.TraceId);
        var handle = Assert.Single(spans, s => s.OperationName == "handle Counter.WhereAmI" && s.TraceId == root.TraceId);
        Assert.Equal(root.SpanId, send.ParentSpanId);
        Assert.Equal(send.SpanId, handle.ParentSpanId);
        Assert.Equal(ActivityKind.Client, send.Kind);
        Assert.Equal(ActivityKind.Server, handle.Kind);
        Assert.Equal("traced", handle.GetTagItem("cluster.entity.id"));
        Assert.Equal(runner, handle.GetTagItem("cluster.runner"));
    }
}
