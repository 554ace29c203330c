using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Shards;

namespace SocketRunnerAspire.Cluster.Tests.Shards;

public sealed class ShardOwnershipTests
{
    private static readonly ShardId Shard = new(ShardId.DefaultGroup, 7);
    private static readonly EntityAddress Entity = new("Counter", "c-1", Shard);

    [Fact]
    public void WorkIsAdmittedOnlyToAnOwnedShard()
    {
        var ownership = new ShardOwnership();
        var admitted = 0;

        Assert.Throws<EntityNotAssignedToRunnerException>(() => ownership.Admit(Entity, 0, (_, _) => admitted++));
        ownership.Acquired([Shard]);
        ownership.Admit(Entity, 0, (_, _) => admitted++);

        Assert.Equal(1, admitted);
        Assert.True(ownership.IsOwned(Shard));
        Assert.Equal([Shard], ownership.Owned);
    }

    [Fact]
    public async Task ReleasingRefusesNewWorkBeforeListenersStopTheOldAndWaitsForThem()
    {
        var ownership = new ShardOwnership();
        var listener = new RecordingListener();
        ownership.AddListener(listener);
        ownership.Acquired([Shard]);
        Assert.Equal([Shard], Assert.Single(listener.Acquired));

        var release = ownership.ReleaseAsync(Shard);

        Assert.False(release.IsCompleted, "the release did not wait for the listener");
        Assert.Throws<EntityNotAssignedToRunnerException>(() => ownership.Admit(Entity, 0, (_, _) => { }));
        listener.Stopped.SetResult();
        await release;
        Assert.Equal([Shard], listener.Released);
        Assert.Empty(ownership.Owned);
    }

    [Fact]
    public async Task ReleasingWaitsForAnAdmissionAlreadyPastTheGate()
    {
        var ownership = new ShardOwnership();
        ownership.Acquired([Shard]);
        using var inside = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();

        var admission = Task.Run(() => ownership.Admit(Entity, 0, (_, _) =>
        {
            inside.Set();
            leave.Wait();
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)));

        var release = Task.Run(() => ownership.ReleaseAsync(Shard));
        await Task.Delay(200);
        Assert.False(release.IsCompleted, "the release did not wait for the admission in progress");
        Assert.Throws<EntityNotAssignedToRunnerException>(() => ownership.Admit(Entity, 0, (_, _) => { }));

        leave.Set();
        await admission.WaitAsync(TimeSpan.FromSeconds(10));
        await release.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task NoWorkIsAdmittedAfterAReleaseReturns()
    {
        var ownership = new ShardOwnership();
        for (var round = 0; round < 50; round++)
        {
            ownership.Acquired([Shard]);
            var released = 0;
            var admittedAfterRelease = 0;
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        ownership.Admit(Entity, 0, (_, _) =>
                        {
                            if (Volatile.Read(ref released) == 1)
                            {
                                Interlocked.Increment(ref admittedAfterRelease);
                            }
                        });
                    }
                    catch (EntityNotAssignedToRunnerException)
                    {
                    }
                }
            })).ToArray();

            await Task.Yield();
            await ownership.ReleaseAsync(Shard);
            Volatile.Write(ref released, 1);
            await Task.Delay(1);
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            Assert.Equal(0, admittedAfterRelease);
        }
    }

    [Fact]
    public void NoShardAdmitsWorkOnceStopping()
    {
        var ownership = new ShardOwnership();
        ownership.Acquired([Shard]);

        ownership.BeginStopping();

        Assert.True(ownership.IsStopping);
        Assert.Throws<EntityNotAssignedToRunnerException>(() => ownership.Admit(Entity, 0, (_, _) => { }));
        ownership.Acquired([new ShardId(ShardId.DefaultGroup, 8)]);
        Assert.False(ownership.IsOwned(new ShardId(ShardId.DefaultGroup, 8)));
    }

    [Fact]
    public void ACrashDropsEveryShardWithoutStoppingAnything()
    {
        var ownership = new ShardOwnership();
        var listener = new RecordingListener();
        ownership.AddListener(listener);
        ownership.Acquired([Shard, new ShardId(ShardId.DefaultGroup, 8)]);

        ownership.DropAll();

        Assert.Empty(ownership.Owned);
        Assert.Empty(listener.Released);
    }

    private sealed class RecordingListener : IShardListener
    {
        public List<IReadOnlyCollection<ShardId>> Acquired { get; } = [];

        public List<ShardId> Released { get; } = [];

        public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnShardsAcquired(IReadOnlyCollection<ShardId> shards) => Acquired.Add(shards);

        public async Task OnShardReleasingAsync(ShardId shard)
        {
            Released.Add(shard);
            await Stopped.Task;
        }
    }
}
