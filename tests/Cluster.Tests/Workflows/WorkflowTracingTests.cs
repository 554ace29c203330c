using System.Diagnostics;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Workflows;
using static SocketRunnerAspire.Cluster.Tests.Workflows.TestWorkflows;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

/// <summary>A workflow execution is one trace: a span per replay of its run (the first and each resume) and a child span per activity attempt.</summary>
public sealed class WorkflowTracingTests
{
    [Fact]
    public async Task AnExecutionWithASuspensionIsOneTraceWithASpanPerReplayAndPerActivityAttempt()
    {
        using var recorder = new SpanRecorder();
        var probe = new WorkflowProbe();
        await using var cluster = await TestCluster.StartAsync(2, options =>
        {
            options.AvailableShardGroups = ["default", "workflow"];
            options.AssignedShardGroups = ["default", "workflow"];
        }, configure: builder => Register(builder, probe));
        var workflows = cluster.Client.Workflows;

        using var root = new Activity("place order").Start();
        var execute = workflows.ExecuteAsync(OrderFlow, new Order("traced", Steps: 2, WaitForApproval: true));
        root.Stop();
        await Eventually.True(async () => await workflows.PollAsync(OrderFlow, "traced") is { Suspended: true }, TimeSpan.FromSeconds(20), "the execution is suspended");
        using (new Activity("approve").Start())
        {
            await workflows.CompleteDeferredAsync(OrderFlow.Deferred<string>("traced", "approval"), "dave");
        }

        await execute.WaitAsync(TimeSpan.FromSeconds(20));

        var trace = recorder.InTrace(root.TraceId);
        var replays = trace.Where(s => s.OperationName == "handle Workflow/order.run").ToArray();
        Assert.Equal(2, replays.Length);   // the first run, and the resume after the approval
        Assert.All(replays, r =>
        {
            Assert.Equal("order", r.GetTagItem("workflow.name"));
            Assert.Equal("traced", r.GetTagItem("workflow.execution_id"));
        });
        Assert.Equal(["suspended", "succeeded"], replays.OrderBy(r => r.StartTimeUtc).Select(r => r.GetTagItem("workflow.outcome")));

        var attempts = trace.Where(s => s.OperationName == "handle Workflow/order.activity").ToArray();
        Assert.Equal(["step-1", "step-2"], attempts.Select(a => (string)a.GetTagItem("workflow.activity")!).Order());
        // The resume gets the completed steps' outcomes from the instance's memory: only the first replay sent them.
        Assert.Equal(2, trace.Count(s => s.OperationName == "send Workflow/order.activity"));
        var spanById = trace.ToDictionary(s => s.SpanId);
        Assert.All(attempts, attempt =>
        {
            // handle activity ← send activity ← the replay that ran it
            var send = spanById[attempt.ParentSpanId];
            Assert.Contains(spanById[send.ParentSpanId], replays);
            Assert.Equal(1, attempt.GetTagItem("workflow.activity.attempt"));
            Assert.Equal($"handle Workflow/order.activity: {attempt.GetTagItem("workflow.activity")} #1", attempt.DisplayName);
        });
    }
}
