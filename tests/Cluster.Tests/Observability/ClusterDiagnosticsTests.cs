using System.Diagnostics;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Observability;

public sealed class ClusterDiagnosticsTests
{
    [Fact]
    public async Task HandleSpanIsAChildOfTheSendSpanAcrossTheTransport()
    {
        using var recorder = new SpanRecorder();
        var spans = recorder.Spans;
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
