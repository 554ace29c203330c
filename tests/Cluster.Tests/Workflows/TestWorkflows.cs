using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

public sealed record Order(string Id, int Steps = 2, bool FailAt = false, bool WaitForApproval = false, TimeSpan? Sleep = null, bool CatchFailure = false, bool Hold = false, TimeSpan Think = default);

public sealed record Child(string Id, bool WaitForRelease, TimeSpan Think = default);

/// <summary>What the test workflows did, observable from tests.</summary>
public sealed class WorkflowProbe
{
    public ConcurrentDictionary<string, int> Runs { get; } = new();

    public ConcurrentQueue<string> Compensated { get; } = new();

    public volatile bool Broken = true;

    /// <summary>Completed when a "hold" activity starts; it finishes once <see cref="Release"/> is completed.</summary>
    public TaskCompletionSource HoldStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int RunsOf(string key) => Runs.TryGetValue(key, out var n) ? n : 0;

    public void Ran(string key) => Runs.AddOrUpdate(key, 1, (_, n) => n + 1);
}

public static class TestWorkflows
{
    public static readonly WorkflowDefinition<Order, string> OrderFlow = Workflow.Define<Order, string>("order", o => o.Id);

    public static readonly WorkflowDefinition<Order, string> Fragile = Workflow.Define<Order, string>("fragile", o => o.Id);

    public static readonly WorkflowDefinition<Child, string> ChildFlow = Workflow.Define<Child, string>("child", c => c.Id);

    public static readonly WorkflowDefinition<Order, string> ParentFlow = Workflow.Define<Order, string>("parent", o => o.Id);

    public static void Register(ClusterBuilder cluster, WorkflowProbe probe)
    {
        cluster.AddWorkflow(OrderFlow, async (flow, order, ct) =>
        {
            probe.Ran($"{order.Id}/replay");
            await Task.Delay(order.Think, ct);   // not a side effect: a slow body outside any activity
            var done = new List<string>();
            for (var step = 1; step <= order.Steps; step++)
            {
                var name = $"step-{step}";
                done.Add(await flow.RunAsync(name, _ =>
                {
                    probe.Ran($"{order.Id}/{name}");
                    return Task.FromResult(name);
                }, (result, _) =>
                {
                    probe.Compensated.Enqueue($"{order.Id}/{result}");
                    return Task.CompletedTask;
                }));
            }

            if (order.Hold)
            {
                await flow.RunAsync("hold", async activity =>
                {
                    probe.Ran($"{order.Id}/hold");
                    probe.HoldStarted.TrySetResult();
                    await probe.Release.Task.WaitAsync(activity);
                });
                done.Add("held");
            }

            if (order.WaitForApproval)
            {
                var approver = await flow.AwaitAsync(flow.Deferred<string>("approval"));
                done.Add("approved-by-" + approver);
            }

            if (order.Sleep is { } sleep)
            {
                await flow.SleepAsync("settle", sleep);
                done.Add("slept");
            }

            if (order.FailAt)
            {
                try
                {
                    await flow.RunAsync<int>("charge", _ =>
                    {
                        probe.Ran($"{order.Id}/charge");
                        throw new InvalidOperationException("card declined");
                    });
                }
                catch (ActivityFailedException ex) when (order.CatchFailure)
                {
                    done.Add("caught:" + ex.Message);
                }
            }

            return string.Join(",", done);
        });

        cluster.AddWorkflow(Fragile, async (flow, order, ct) =>
        {
            await flow.RunAsync("first", _ =>
            {
                probe.Ran($"{order.Id}/first");
                return Task.FromResult(1);
            });
            return await flow.RunAsync("flaky", _ =>
            {
                probe.Ran($"{order.Id}/flaky");
                return probe.Broken ? throw new InvalidOperationException("still broken") : Task.FromResult("fixed");
            });
        }, options => options.SuspendOnFailure = true);

        cluster.AddWorkflow(ChildFlow, async (flow, child, ct) =>
        {
            await Task.Delay(child.Think, ct);
            if (child.WaitForRelease)
            {
                await flow.AwaitAsync(flow.Deferred<bool>("release"));
            }

            return await flow.RunAsync("work", _ =>
            {
                probe.Ran($"{child.Id}/work");
                return Task.FromResult("child-" + child.Id);
            });
        });

        cluster.AddWorkflow(ParentFlow, async (flow, order, ct) =>
        {
            var child = await flow.ExecuteAsync(ChildFlow, new Child(order.Id + "-child", WaitForRelease: order.WaitForApproval, Think: order.Think));
            return "parent-of-" + child;
        });
    }
}
