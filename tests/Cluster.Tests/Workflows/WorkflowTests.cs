using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Workflows;
using static SocketRunnerAspire.Cluster.Tests.Workflows.TestWorkflows;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

/// <summary>
/// The workflow engine's behaviours (Effect's ClusterWorkflowEngine tests, spec §8.5, and the rest of §7.5) on runners in
/// one process over the in-memory transport and storage; <see cref="SocketWorkflowTests"/> runs the same on Garnet over sockets.
/// </summary>
public class WorkflowTests : IAsyncLifetime
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private TestCluster? _cluster;

    protected WorkflowProbe Probe { get; } = new();

    protected RecordingMessageStorage Messages { get; set; } = null!;

    protected TestCluster Cluster => _cluster!;

    protected IWorkflowClient Workflows => Cluster.Client.Workflows;

    public async Task InitializeAsync() => _cluster = await StartClusterAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    protected virtual Task<TestCluster> StartClusterAsync()
    {
        Messages = new RecordingMessageStorage(new InMemoryMessageStorage());
        return TestCluster.StartAsync(2, Configure, messages: Messages, configure: cluster => Register(cluster, Probe));
    }

    protected static void Configure(ShardingOptions options)
    {
        options.AvailableShardGroups = ["default", "workflow"];
        options.AssignedShardGroups = ["default", "workflow"];
        options.EntityRegistrationTimeout = TimeSpan.FromMilliseconds(500);
    }

    private Task<WorkflowStatus<string>> PendingAsync(WorkflowDefinition<Order, string> workflow, string id, bool suspended = true) =>
        StatusAsync(workflow, id, s => s is { IsComplete: false } && s.Suspended == suspended, suspended ? "suspended" : "pending");

    private async Task<WorkflowStatus<TResult>> StatusAsync<TPayload, TResult>(WorkflowDefinition<TPayload, TResult> workflow, string id, Func<WorkflowStatus<TResult>, bool> until, string what)
    {
        WorkflowStatus<TResult>? status = null;
        await Eventually.True(async () => (status = await Workflows.PollAsync(workflow, id)) is { } s && until(s), Timeout, $"{workflow.Name} {id} is {what}");
        return status!;
    }

    /// <summary>Awaits <paramref name="task"/> for <see cref="Timeout"/>; on a timeout, fails with what the nodes logged.</summary>
    protected async Task<T> WithLogs<T>(Task<T> task)
    {
        try
        {
            return await task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail("Timed out. Logs:\n" + string.Join("\n", Cluster.Logs.Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"))
                + "\nStored:\n" + string.Join("\n", Messages.Requests.Select(r => $"{r.Id} {r.Address} {r.Tag} {r.PrimaryKey} at {r.DeliverAt}"))
                + "\nReplies:\n" + string.Join("\n", Messages.Replies.Select(r => $"{r.RequestId} #{r.Sequence} final {r.IsFinal} failure {(r.IsFailure ? SocketRunnerAspire.Cluster.Errors.ReplyFailure.Decode(r.Payload).ToString() : "no")}")));
            throw;
        }
    }

    [Fact]
    public async Task ExecuteRunsEachActivityOnceAndReturnsTheResult()
    {
        var result = await Workflows.ExecuteAsync(OrderFlow, new Order("plain", Steps: 3)).WaitAsync(Timeout);

        Assert.Equal("step-1,step-2,step-3", result);
        Assert.All(new[] { "step-1", "step-2", "step-3" }, step => Assert.Equal(1, Probe.RunsOf("plain/" + step)));
        var status = await Workflows.PollAsync(OrderFlow, "plain");
        Assert.Equal(new WorkflowStatus<string>(WorkflowState.Succeeded, false, result, null), status);
    }

    [Fact]
    public async Task TheSameExecutionIdTwiceReturnsTheFirstResultWithoutRunningAgain()
    {
        var first = await Workflows.ExecuteAsync(OrderFlow, new Order("twice", Steps: 1)).WaitAsync(Timeout);
        var second = await Workflows.ExecuteAsync(OrderFlow, new Order("twice", Steps: 3)).WaitAsync(Timeout);

        Assert.Equal("step-1", first);
        Assert.Equal(first, second);
        Assert.Equal(1, Probe.RunsOf("twice/step-1"));
        Assert.Equal(0, Probe.RunsOf("twice/step-2"));
    }

    [Fact]
    public async Task PollOfAnExecutionNeverStartedIsNull() =>
        Assert.Null(await Workflows.PollAsync(OrderFlow, "never"));

    [Fact]
    public async Task ADeferredSuspendsTheExecutionUntilItIsCompletedAndCompletedActivitiesAreNotRunAgain()
    {
        var id = await Workflows.StartAsync(OrderFlow, new Order("approve", WaitForApproval: true));
        Assert.Equal("approve", id);
        var suspended = await PendingAsync(OrderFlow, id);
        Assert.Null(suspended.Error);

        await Workflows.CompleteDeferredAsync(OrderFlow.Deferred<string>(id, "approval").Token, "alice").WaitAsync(Timeout);

        var result = await Workflows.ExecuteAsync(OrderFlow, new Order("approve", WaitForApproval: true)).WaitAsync(Timeout);
        Assert.Equal("step-1,step-2,approved-by-alice", result);
        Assert.Equal(1, Probe.RunsOf("approve/step-1"));
        Assert.Equal(1, Probe.RunsOf("approve/step-2"));
    }

    [Fact]
    public async Task ExecuteWaitsAcrossTheSuspension()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("waiting", WaitForApproval: true));
        await PendingAsync(OrderFlow, "waiting");
        Assert.False(execute.IsCompleted);

        await Workflows.CompleteDeferredAsync(OrderFlow.Deferred<string>("waiting", "approval"), "bob");

        Assert.Equal("step-1,step-2,approved-by-bob", await execute.WaitAsync(Timeout));
    }

    [Fact]
    public async Task AFailedDeferredFailsTheAwaitAndTheExecutionCompensates()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("rejected", WaitForApproval: true));
        await PendingAsync(OrderFlow, "rejected");

        await Workflows.FailDeferredAsync(OrderFlow.Deferred<string>("rejected", "approval"), "not approved");

        var error = await Assert.ThrowsAsync<WorkflowFailedException>(() => execute.WaitAsync(Timeout));
        Assert.Equal("not approved", error.Message);
        Assert.False(error.Interrupted);
        Assert.Equal(["rejected/step-2", "rejected/step-1"], Probe.Compensated);
    }

    [Fact]
    public async Task InterruptingASuspendedExecutionRunsItsCompensationsInReverseAndFailsIt()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("cancel", Steps: 3, WaitForApproval: true));
        await PendingAsync(OrderFlow, "cancel");

        Assert.True(await Workflows.InterruptAsync(OrderFlow, "cancel"));

        var error = await Assert.ThrowsAsync<WorkflowInterruptedException>(() => execute.WaitAsync(Timeout));
        Assert.True(error.Interrupted);
        Assert.Equal(["cancel/step-3", "cancel/step-2", "cancel/step-1"], Probe.Compensated);
        var status = await Workflows.PollAsync(OrderFlow, "cancel");
        Assert.Equal(WorkflowState.Failed, status!.State);
        Assert.IsType<WorkflowInterruptedException>(status.Error);
        Assert.Equal(1, Probe.RunsOf("cancel/step-1"));

        // Finished: a second interrupt and a late completion change nothing.
        Assert.False(await Workflows.InterruptAsync(OrderFlow, "cancel"));
        await Assert.ThrowsAsync<WorkflowCompletedException>(() => Workflows.CompleteDeferredAsync(OrderFlow.Deferred<string>("cancel", "approval"), "late"));
        Assert.Equal(3, Probe.Compensated.Count);
    }

    [Fact]
    public async Task AnInterruptDuringAnActivityLetsItFinishThenStopsAndCompensates()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("busy", Steps: 2, Hold: true, WaitForApproval: true));
        await Probe.HoldStarted.Task.WaitAsync(Timeout);

        Assert.True(await Workflows.InterruptAsync(OrderFlow, "busy"));
        Probe.Release.TrySetResult();

        await Assert.ThrowsAsync<WorkflowInterruptedException>(() => WithLogs(execute));
        Assert.Equal(["busy/step-2", "busy/step-1"], Probe.Compensated);
        Assert.Equal(1, Probe.RunsOf("busy/hold"));
    }

    [Fact]
    public async Task InterruptingAnExecutionNeverStartedOrFinishedReturnsFalse()
    {
        Assert.False(await Workflows.InterruptAsync(OrderFlow, "nobody"));
        await Workflows.ExecuteAsync(OrderFlow, new Order("done", Steps: 1)).WaitAsync(Timeout);
        Assert.False(await Workflows.InterruptAsync(OrderFlow, "done"));
        Assert.Empty(Probe.Compensated);
    }

    [Fact]
    public async Task AFailingActivityCompensatesTheCompletedOnesInReverseAndFailsTheExecution()
    {
        var error = await Assert.ThrowsAsync<WorkflowFailedException>(
            () => Workflows.ExecuteAsync(OrderFlow, new Order("declined", Steps: 2, FailAt: true)).WaitAsync(Timeout));

        Assert.Equal(typeof(InvalidOperationException).FullName, error.ErrorType);
        Assert.Contains("card declined", error.Message, StringComparison.Ordinal);
        Assert.Equal(["declined/step-2", "declined/step-1"], Probe.Compensated);
        Assert.Equal(1, Probe.RunsOf("declined/charge"));

        // The failure is the execution's result: asking again returns it, and nothing runs or compensates again.
        var again = await Assert.ThrowsAsync<WorkflowFailedException>(
            () => Workflows.ExecuteAsync(OrderFlow, new Order("declined", Steps: 2, FailAt: true)).WaitAsync(Timeout));
        Assert.Equal(error.Message, again.Message);
        Assert.Equal(2, Probe.Compensated.Count);
        Assert.Equal(1, Probe.RunsOf("declined/charge"));
    }

    [Fact]
    public async Task TheBodyCanCatchAnActivityFailure()
    {
        var result = await Workflows.ExecuteAsync(OrderFlow, new Order("caught", Steps: 1, FailAt: true, CatchFailure: true)).WaitAsync(Timeout);

        Assert.StartsWith("step-1,caught:", result, StringComparison.Ordinal);
        Assert.Contains("card declined", result, StringComparison.Ordinal);
        Assert.Empty(Probe.Compensated);
    }

    [Fact]
    public async Task ADurableSleepSuspendsAndIsWokenByAMessageInTheWorkflowShardGroup()
    {
        var result = await WithLogs(Workflows.ExecuteAsync(OrderFlow, new Order("nap", Steps: 1, Sleep: TimeSpan.FromMilliseconds(300))));

        Assert.Equal("step-1,slept", result);
        Assert.Equal(1, Probe.RunsOf("nap/step-1"));
        var wake = Assert.Single(Messages.Requests, r => r.Address.EntityType == "Workflow/-/DurableClock");
        Assert.Equal("workflow", wake.Address.ShardId.Group);
        Assert.Equal("nap", wake.Address.EntityId);
        Assert.All(Messages.Requests, r => Assert.Equal("workflow", r.Address.ShardId.Group));
    }

    [Fact]
    public async Task ASuspendOnFailureWorkflowSuspendsWithTheErrorAndAResumeRunsOnlyTheFailedStepAgain()
    {
        var id = await Workflows.StartAsync(Fragile, new Order("fragile"));
        var suspended = await PendingAsync(Fragile, id);
        Assert.NotNull(suspended.Error);
        Assert.Contains("still broken", suspended.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, Probe.RunsOf("fragile/flaky"));

        Probe.Broken = false;
        Assert.True(await Workflows.ResumeAsync(Fragile, id));

        Assert.Equal("fixed", await Workflows.ExecuteAsync(Fragile, new Order("fragile")).WaitAsync(Timeout));
        Assert.Equal(1, Probe.RunsOf("fragile/first"));
        Assert.Equal(2, Probe.RunsOf("fragile/flaky"));
        Assert.False(await Workflows.ResumeAsync(Fragile, id));
    }

    [Fact]
    public async Task AParentWaitsForItsChildAndTheChildResumesIt()
    {
        var parent = Workflows.ExecuteAsync(ParentFlow, new Order("family", WaitForApproval: true));
        await StatusAsync(ChildFlow, "family-child", s => s is { IsComplete: false, Suspended: true }, "suspended");
        await PendingAsync(ParentFlow, "family");

        await Workflows.CompleteDeferredAsync(ChildFlow.Deferred<bool>("family-child", "release"), true);

        Assert.Equal("parent-of-child-family-child", await parent.WaitAsync(Timeout));
        Assert.Equal(1, Probe.RunsOf("family-child/work"));
        var child = await Workflows.PollAsync(ChildFlow, "family-child");
        Assert.Equal(WorkflowState.Succeeded, child!.State);
    }

    [Fact]
    public async Task ADeferredTokenForAFinishedExecutionIsATypedErrorAndChangesNothing()
    {
        await Workflows.ExecuteAsync(OrderFlow, new Order("finished", Steps: 1)).WaitAsync(Timeout);
        var token = OrderFlow.Deferred<string>("finished", "approval").Token;

        var error = await Assert.ThrowsAsync<WorkflowCompletedException>(() => Workflows.CompleteDeferredAsync(token, "late"));

        Assert.Contains("finished", error.Message, StringComparison.Ordinal);
        Assert.Equal("step-1", (await Workflows.PollAsync(OrderFlow, "finished"))!.Result);
    }

    [Fact]
    public async Task ATokenThatIsNotADeferredTokenIsAFormatException() =>
        await Assert.ThrowsAsync<FormatException>(() => Workflows.CompleteDeferredAsync("not a token!", 1));

    [Fact]
    public async Task AnUnknownWorkflowIsATypedErrorAndItsStartStaysStored()
    {
        var unknown = Workflow.Define<Order, string>("unknown", o => o.Id);

        var error = await Assert.ThrowsAsync<EntityTypeNotRegisteredException>(
            () => Workflows.ExecuteAsync(unknown, new Order("lost?")).WaitAsync(Timeout));

        Assert.Equal("Workflow/unknown", error.EntityType);
        var start = Assert.Single(Messages.Requests, r => r.Address.EntityType == "Workflow/unknown");
        Assert.Single(await Messages.UnprocessedMessagesByIdAsync([start.Id], default));
    }

    [Fact]
    public async Task APayloadThatDoesNotDecodeFailsTheExecutionWithATypedError()
    {
        var mistyped = Workflow.Define<int, string>("order", i => "mistyped-" + i);

        var error = await Assert.ThrowsAsync<WorkflowFailedException>(() => Workflows.ExecuteAsync(mistyped, 7).WaitAsync(Timeout));

        Assert.Equal(typeof(MalformedMessageException).FullName, error.ErrorType);
        Assert.Equal(WorkflowState.Failed, (await Workflows.PollAsync(mistyped, "mistyped-7"))!.State);
    }

    [Fact]
    public async Task ASuspendedExecutionWhoseRunnerCrashedResumesOnTheNextOwnerWithoutRunningCompletedActivitiesAgain()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("moved", Steps: 2, WaitForApproval: true));
        await PendingAsync(OrderFlow, "moved");
        await Cluster.CrashRunnerAsync(OwnerOf("moved"));

        await Workflows.CompleteDeferredAsync(OrderFlow.Deferred<string>("moved", "approval"), "carol").WaitAsync(Timeout);

        Assert.Equal("step-1,step-2,approved-by-carol", await WithLogs(execute));
        Assert.Equal(1, Probe.RunsOf("moved/step-1"));
        Assert.Equal(1, Probe.RunsOf("moved/step-2"));
    }

    [Fact]
    public async Task AnActivityRunningWhenItsRunnerCrashesRunsAgainOnTheNextOwnerAndTheOnesBeforeItDoNot()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("midway", Steps: 2, Hold: true));
        await Probe.HoldStarted.Task.WaitAsync(Timeout);

        await Cluster.CrashRunnerAsync(OwnerOf("midway"));
        Probe.Release.TrySetResult();

        Assert.Equal("step-1,step-2,held", await WithLogs(execute));
        Assert.Equal(1, Probe.RunsOf("midway/step-1"));
        Assert.Equal(1, Probe.RunsOf("midway/step-2"));
        Assert.InRange(Probe.RunsOf("midway/hold"), 1, 2);   // at least once: the crash may have come before its outcome was saved
        Assert.Equal(WorkflowState.Succeeded, (await Workflows.PollAsync(OrderFlow, "midway"))!.State);
    }

    [Fact]
    public async Task AShardMovingWhileAReplayIsBetweenStepsDoesNotWaitForItAndTheReplayRunsOnTheNextOwner()
    {
        var execute = Workflows.ExecuteAsync(OrderFlow, new Order("moving", Steps: 1, Think: TimeSpan.FromSeconds(4)));
        await Eventually.True(() => Probe.RunsOf("moving/replay") == 1, Timeout, "the replay is running");

        await Cluster.StopRunnerAsync(OwnerOf("moving"));

        Assert.DoesNotContain(Cluster.Logs.Entries, e => e.Message.Contains("did not stop within", StringComparison.Ordinal));
        Assert.Equal("step-1", await WithLogs(execute));
        Assert.Equal(2, Probe.RunsOf("moving/replay"));
        Assert.Equal(1, Probe.RunsOf("moving/step-1"));
    }

    private Sharding OwnerOf(string executionId)
    {
        var shard = Cluster.Client.GetShardId(executionId, "workflow");
        return Cluster.Runners.Single(r => r.Address == Cluster.Client.GetOwner(shard));
    }

    [Fact]
    public async Task ManyExecutionsAtOnceEachCompleteOnce()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => Workflows.ExecuteAsync(OrderFlow, new Order("many-" + i, Steps: 2)))).WaitAsync(Timeout);

        Assert.All(results, r => Assert.Equal("step-1,step-2", r));
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(1, Probe.RunsOf($"many-{i}/step-2")));
    }
}
