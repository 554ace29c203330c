using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Tests.Http;

/// <summary>An entity for the HTTP proxy's tests: ticks until the caller goes, or fails after some ticks; echoes.</summary>
[EntityName("Ticker")]
public sealed class Ticker;

/// <summary>Ticks 1, 2, 3… until cancelled.</summary>
public sealed record Tick : IEntityStreamRequest<Ticker, int>;

/// <summary>Ticks <paramref name="After"/> times, then throws.</summary>
public sealed record TickThenFail(int After) : IEntityStreamRequest<Ticker, int>;

/// <summary>Replies with <paramref name="Text"/>; without a body, the default.</summary>
public sealed record Echo(string Text = "pong") : IEntityRequest<Ticker, string>;

/// <summary>What the ticker saw: when its open-ended stream was stopped.</summary>
public sealed class TickerProbe
{
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

public sealed class TickerEntity(TickerProbe probe)
{
    public static void Configure(EntityDefinition<Ticker, TickerEntity> entity) => entity
        .OnStream<Tick, int>((e, _, ct) => e.TickAsync(ct))
        .OnStream<TickThenFail, int>((e, m, ct) => e.TickThenFailAsync(m.After, ct))
        .On<Echo, string>((_, m) => ValueTask.FromResult(m.Text));

    private async IAsyncEnumerable<int> TickAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The stream never ends by itself, so leaving the loop at all means it was stopped: cancelled
        // while waiting, or disposed while parked at a yield (where no exception reaches a catch).
        try
        {
            for (var i = 1; ; i++)
            {
                yield return i;
                await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
            }
        }
        finally
        {
            probe.Cancelled.TrySetResult();
        }
    }

    private async IAsyncEnumerable<int> TickThenFailAsync(int after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 1; i <= after; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
        }

        throw new InvalidOperationException($"failed after {after}");
    }
}
