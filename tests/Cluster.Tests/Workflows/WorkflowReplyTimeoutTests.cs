using SocketRunnerAspire.Cluster.Tests.Support;
using static SocketRunnerAspire.Cluster.Tests.Workflows.TestWorkflows;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

/// <summary>A run that outlasts <c>PersistedReplyTimeout</c> goes on: its caller (a client, or a parent execution) waits for it through storage instead of failing.</summary>
public sealed class WorkflowReplyTimeoutTests
{
    private static async Task<TestCluster> StartAsync(WorkflowProbe probe) => await TestCluster.StartAsync(2, options =>
    {
        options.AvailableShardGroups = ["default", "workflow"];
        options.AssignedShardGroups = ["default", "workflow"];
        options.PersistedReplyTimeout = TimeSpan.FromSeconds(1);
    }, configure: builder => Register(builder, probe));

    [Fact]
    public async Task ExecuteOfARunLongerThanTheReplyTimeoutReturnsItsResult()
    {
        var probe = new WorkflowProbe();
        await using var cluster = await StartAsync(probe);

        var result = await cluster.Client.Workflows.ExecuteAsync(OrderFlow, new Order("slow", Steps: 1, Think: TimeSpan.FromSeconds(2.5))).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("step-1", result);
        Assert.Equal(1, probe.RunsOf("slow/step-1"));
    }

    [Fact]
    public async Task AParentWaitsForAChildLongerThanTheReplyTimeout()
    {
        var probe = new WorkflowProbe();
        await using var cluster = await StartAsync(probe);

        var result = await cluster.Client.Workflows.ExecuteAsync(ParentFlow, new Order("slow-parent", Think: TimeSpan.FromSeconds(2.5))).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("parent-of-child-slow-parent-child", result);
        Assert.Equal(1, probe.RunsOf("slow-parent-child/work"));
    }
}
