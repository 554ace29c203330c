using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

/// <summary>The workflow metrics: replays running, replays that ended suspended, and completions by outcome.</summary>
public sealed class WorkflowMetricsTests
{
    // A workflow of this test's own: metrics are process-wide and other tests run workflows at the same time.
    private static readonly WorkflowDefinition<string, string> Metered = Workflow.Define<string, string>("metered", id => id);

    [Fact]
    public async Task ReplaysAndCompletionsAreCountedByWorkflowAndOutcome()
    {
        var measured = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, meterListener) =>
        {
            if (instrument.Meter.Name == ClusterDiagnostics.Name && instrument.Name.StartsWith("cluster.workflows.", StringComparison.Ordinal))
            {
                meterListener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? workflow = null, outcome = null;
            foreach (var tag in tags)
            {
                workflow = tag.Key == "workflow.name" ? tag.Value as string : workflow;
                outcome = tag.Key == "workflow.outcome" ? tag.Value as string : outcome;
            }

            if (workflow == Metered.Name)
            {
                measured.AddOrUpdate(instrument.Name + (outcome is null ? "" : "/" + outcome), value, (_, n) => n + value);
            }
        });
        listener.Start();
        await using var cluster = await TestCluster.StartAsync(2, options =>
        {
            options.AvailableShardGroups = ["default", "workflow"];
            options.AssignedShardGroups = ["default", "workflow"];
        }, configure: builder => builder.AddWorkflow(Metered, async (flow, id, _) =>
        {
            if (id.StartsWith("wait", StringComparison.Ordinal))
            {
                await flow.AwaitAsync(flow.Deferred<bool>("go"));
            }

            return await flow.RunAsync("only", _ => id == "fails" ? throw new InvalidOperationException("no") : Task.FromResult(id));
        }));
        var workflows = cluster.Client.Workflows;

        await workflows.ExecuteAsync(Metered, "ok");
        await Assert.ThrowsAsync<WorkflowFailedException>(() => workflows.ExecuteAsync(Metered, "fails"));
        var waiting = workflows.ExecuteAsync(Metered, "wait");
        await Eventually.True(async () => await workflows.PollAsync(Metered, "wait") is { Suspended: true }, TimeSpan.FromSeconds(20), "it is suspended");
        await workflows.CompleteDeferredAsync(Metered.Deferred<bool>("wait", "go"), true);
        await waiting.WaitAsync(TimeSpan.FromSeconds(20));

        await Eventually.True(() => measured.GetValueOrDefault("cluster.workflows.completed/succeeded") == 2, TimeSpan.FromSeconds(5), "two successes are counted");
        Assert.Equal(1, measured.GetValueOrDefault("cluster.workflows.completed/failed"));
        Assert.Equal(1, measured.GetValueOrDefault("cluster.workflows.suspended"));
        Assert.Equal(0, measured.GetValueOrDefault("cluster.workflows.running"));   // every replay that started has ended
        Assert.Equal(4, measured.Keys.Count);
    }
}
