using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using Xunit;

namespace SocketRunnerAspire.Cluster.Tests.Persistence;

public sealed class PersistedDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AReleasedShardKeepsItsLeaseUntilAFinishedHandlersReplyIsSaved()
    {
        var messages = new RecordingMessageStorage(new InMemoryMessageStorage());
        await using var cluster = await TestCluster.StartAsync(2, messages: messages, tweak: o =>
        {
            o.ShardLockExpiration = TimeSpan.FromSeconds(10);   // no lease expires within the test
            o.EntityTerminationTimeout = TimeSpan.FromSeconds(5);
        });
        var account = cluster.Client.GetEntity<CounterEntity>("release-during-save");
        var owner = cluster.Runners.Single(r => r.OwnedShards.Contains(account.Address.ShardId));
        var next = cluster.Runners.Single(r => r != owner);
        var saving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var letSave = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        messages.BeforeSaveReply = async _ =>
        {
            saving.TrySetResult();
            await letSave.Task;
        };

        var reply = account.AskAsync(new Deposit("saved-before-release", 4));
        await saving.Task.WaitAsync(Timeout);   // the handler finished; its reply is being saved
        var leaving = cluster.StopRunnerAsync(owner);

        // Without the wait, the next owner takes the lease now, reads the request as unprocessed and runs it again.
        var tookOverWhileSaving = false;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(2) && !tookOverWhileSaving)   // within the termination timeout, the most a release waits
        {
            await Task.Delay(25);
            tookOverWhileSaving = next.OwnedShards.Contains(account.Address.ShardId);
        }

        letSave.SetResult();
        await leaving.WaitAsync(Timeout);

        Assert.False(tookOverWhileSaving, "the next owner acquired the shard while the finished handler's reply was being saved");
        Assert.Equal(4, await reply.WaitAsync(Timeout));
        await Eventually.True(() => next.OwnedShards.Contains(account.Address.ShardId), Timeout, "the next owner takes the shard after the save");
        await Task.Delay(TimeSpan.FromSeconds(1));   // more than a storage pass on the next owner
        Assert.Equal(1, cluster.Probe.Runs["saved-before-release"]);
    }
}
