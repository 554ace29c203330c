using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Persistence;

/// <summary>A persisted stream resumed on the next owner (Effect §8.1 #14): Cluster/Persistence/PersistedDelivery.cs, Cluster/Entities/StreamResume.cs.</summary>
public sealed class PersistedStreamResumeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly InMemoryMessageStorage _storage = new();
    private readonly RecordingMessageStorage _messages;
    private readonly ResumeProbe _probe = new();

    public PersistedStreamResumeTests() => _messages = new RecordingMessageStorage(_storage);

    [Fact]
    public async Task AResumeAwareStreamContinuesAfterTheLastSavedChunkOnTheNextRunner()
    {
        await using var cluster = await StartAsync();

        var received = await StreamAcrossARestartAsync(cluster, new ResumableCount("resume-1", 5));

        Assert.Equal([0, 1, 2, 3, 4], received);
        Assert.Equal([(false, 0, 0), (true, 2, 3)], _probe.Resumes);   // the second run saw last sent = 2
        Assert.Equal([0, 1, 2, 3, 4], _probe.Emitted);                 // and emitted 3 and 4 only
        await AssertStoredAsFiveChunksAndAFinalReplyAsync(cluster);
    }

    [Fact]
    public async Task AStreamThatIsNotResumeAwareRunsAgainFromTheStartAndItsSavedChunksAreSkipped()
    {
        await using var cluster = await StartAsync();

        var received = await StreamAcrossARestartAsync(cluster, new RestartingCount("restart-1", 5));

        Assert.Equal([0, 1, 2, 3, 4], received);
        Assert.Equal([0, 1, 2, 0, 1, 2, 3, 4], _probe.Emitted);
        await AssertStoredAsFiveChunksAndAFinalReplyAsync(cluster);
    }

    private Task<TestCluster> StartAsync() => TestCluster.StartAsync(1, messages: _messages, configure: builder =>
        builder.AddEntity<ResumableEntity>(_ => new ResumableEntity(_probe), entity => entity
            .OnStream<ResumableCount, int>((e, m, resume, _, ct) => e.Count(m.N, resume, ct))
            .OnStream<RestartingCount, int>((e, m, ct) => e.Count(m.N, StreamResume<int>.Start, ct))));

    /// <summary>Reads chunks 0..2 from the first runner, stops it while its handler holds before 3, starts another and reads the rest.</summary>
    private async Task<List<int>> StreamAcrossARestartAsync(TestCluster cluster, IEntityStreamRequest<ResumableEntity, int> request)
    {
        var received = new List<int>();
        await using var items = cluster.Client.GetEntity<ResumableEntity>("streamer").StreamAsync(request).GetAsyncEnumerator();
        while (received.Count < 3 && await items.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            received.Add(items.Current);
        }

        await _probe.Holding.Task.WaitAsync(Timeout);
        Assert.Equal([0, 1, 2], _messages.Replies.Select(r => r.Sequence));   // chunks 0..2 saved, nothing after

        await cluster.StopRunnerAsync(cluster.Runners[0]);
        await cluster.AddRunnerAsync();
        while (await items.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            received.Add(items.Current);
        }

        return received;
    }

    private async Task AssertStoredAsFiveChunksAndAFinalReplyAsync(TestCluster cluster)
    {
        var replies = _messages.Replies.ToArray();
        Assert.Equal([0, 1, 2, 3, 4], replies.Where(r => !r.IsFinal).Select(r => r.Sequence));
        var final = Assert.Single(replies, r => r.IsFinal);
        Assert.Equal((5, false), (final.Sequence, final.IsFailure));
        Assert.Single(_messages.Requests);
        Assert.Empty(await _storage.UnprocessedMessagesAsync(cluster.Runners[0].OwnedShards, 100, default));
    }
}

[Persisted]
public sealed record ResumableCount(string Key, int N) : IEntityStreamRequest<ResumableEntity, int>, IPrimaryKey
{
    public string PrimaryKey => Key;
}

[Persisted]
public sealed record RestartingCount(string Key, int N) : IEntityStreamRequest<ResumableEntity, int>, IPrimaryKey
{
    public string PrimaryKey => Key;
}

/// <summary>What the handlers of <see cref="ResumableEntity"/> saw and did.</summary>
public sealed class ResumeProbe
{
    public ConcurrentQueue<(bool HasLastSent, int LastSent, int NextSequence)> Resumes { get; } = new();

    public ConcurrentQueue<int> Emitted { get; } = new();

    /// <summary>The first run reached item 3 and holds there until its runner stops.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Counts 0..N-1, continuing after the last sent item; the first run holds before item 3 until it is stopped.</summary>
[EntityName("Resumable")]
public sealed class ResumableEntity(ResumeProbe probe)
{
    public async IAsyncEnumerable<int> Count(int n, StreamResume<int> resume, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        probe.Resumes.Enqueue((resume.HasLastSent, resume.LastSent, resume.NextSequence));
        var firstRun = !probe.Holding.Task.IsCompleted;
        for (var i = resume.HasLastSent ? resume.LastSent + 1 : 0; i < n; i++)
        {
            if (i == 3 && firstRun)
            {
                probe.Holding.TrySetResult();
                await Task.Delay(System.Threading.Timeout.Infinite, cancellationToken);
            }

            probe.Emitted.Enqueue(i);
            yield return i;
        }
    }
}
