using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Memory;
using Xunit;

namespace SocketRunnerAspire.Cluster.Tests.Persistence;

/// <summary>
/// A persisted request whose run finished and saved its reply, but whose caller never got that reply (the runner died
/// right after, the connection dropped), sent again by RPC to its shard's owner (as Effect's runners resend after
/// RunnerUnavailable, and this runtime's sender after EntityTypeNotRegistered): the caller gets the saved reply, and
/// nothing runs twice. This runtime's own sender otherwise waits for the reply in storage, so the transport here resends.
/// </summary>
public sealed class LostReplyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ARetryReachingTheShardsNextOwnerIsAnsweredWithTheReplySavedByThePreviousOwner()
    {
        var transport = new ReplyLosingTransport(new InMemoryRunnerTransport());
        await using var cluster = await TestCluster.StartAsync(2, transports: () => transport,
            tweak: o => o.ShardLockExpiration = TimeSpan.FromSeconds(10));   // the shard moves by release, not by expiry
        var account = cluster.Client.GetEntity<CounterEntity>("lost-reply-moved");
        var owner = cluster.Runners.Single(r => r.OwnedShards.Contains(account.Address.ShardId));
        var next = cluster.Runners.Single(r => r != owner);
        transport.AfterLosingReply = async () =>
        {
            await cluster.StopRunnerAsync(owner);
            await Eventually.True(() => next.OwnedShards.Contains(account.Address.ShardId), Timeout, "the next owner holds the shard");
            return next.Address!.Value;
        };

        Assert.Equal(5, await account.AskAsync(new Deposit("moved", 5)).WaitAsync(Timeout));

        Assert.True(transport.LostReply, "the first reply was dropped, so the caller sent the request again");
        Assert.Equal(1, cluster.Probe.Runs["moved"]);
        Assert.Equal(owner.Address, cluster.Probe.HandledBy["moved"]);
    }

    [Fact]
    public async Task ARetryReachingTheSameOwnerAfterLaterStoragePassesIsAnsweredWithTheSavedReply()
    {
        var transport = new ReplyLosingTransport(new InMemoryRunnerTransport());
        await using var cluster = await TestCluster.StartAsync(1, transports: () => transport,
            tweak: o => o.EntityMessagePollInterval = TimeSpan.FromMilliseconds(50));
        // Made after the shards' acquisition is past the clock-skew margin: only the runner's own memory of it counts.
        await Task.Delay(EarlierRuns.ClockSkew + TimeSpan.FromMilliseconds(200));
        var account = cluster.Client.GetEntity<CounterEntity>("lost-reply-same-owner");
        // Each pass forgets what completed before it began; the retry arrives several passes later.
        transport.AfterLosingReply = async () =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            return cluster.Runners[0].Address!.Value;
        };

        Assert.Equal(3, await account.AskAsync(new Deposit("same-owner", 3)).WaitAsync(Timeout));

        Assert.True(transport.LostReply, "the first reply was dropped, so the caller sent the request again");
        Assert.Equal(1, cluster.Probe.Runs["same-owner"]);
    }

    /// <summary>
    /// Delivers the first persisted request, drops its reply, waits for <see cref="AfterLosingReply"/> and sends the same
    /// request again to the runner it names, returning that answer.
    /// </summary>
    private sealed class ReplyLosingTransport(InMemoryRunnerTransport inner) : IRunnerTransport
    {
        private int _lost;

        public Func<Task<RunnerAddress>> AfterLosingReply { get; set; } = () => throw new InvalidOperationException("set by the test");

        public bool LostReply => Volatile.Read(ref _lost) == 1;

        public async ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken)
        {
            if (!persisted || Interlocked.Exchange(ref _lost, 1) == 1)
            {
                return await inner.RequestAsync(runner, envelope, persisted, cancellationToken);
            }

            var resend = PooledBytes.CopyOf(envelope.Memory.Span);
            (await inner.RequestAsync(runner, envelope, persisted, cancellationToken)).Dispose();
            return await inner.RequestAsync(await AfterLosingReply(), resend, persisted, cancellationToken);
        }

        public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken) =>
            inner.StreamAsync(runner, envelope, persisted, cancellationToken);

        public Task NotifyAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
            inner.NotifyAsync(runner, envelope, cancellationToken);

        public Task SendEnvelopeAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken) =>
            inner.SendEnvelopeAsync(runner, envelope, cancellationToken);

        public Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken) => inner.PingAsync(runner, cancellationToken);

        public Task<IAsyncDisposable> ListenAsync(RunnerAddress address, IRunnerRpcHandler handler, CancellationToken cancellationToken) =>
            inner.ListenAsync(address, handler, cancellationToken);

        public void OnRunnerUnavailable(RunnerAddress runner) => inner.OnRunnerUnavailable(runner);
    }
}
