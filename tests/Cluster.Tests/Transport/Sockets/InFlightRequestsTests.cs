using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

public sealed class InFlightRequestsTests
{
    [Fact]
    public void AFinishedRequestsSourceIsReusedResetAndACancelForItNoLongerReachesIt()
    {
        var requests = new InFlightRequests();
        Assert.True(requests.TryStart(1, out var first));
        requests.Finish(1, first, reusable: true);

        requests.Cancel(1); // late: request 1 is done
        Assert.True(requests.TryStart(2, out var second));
        Assert.Same(first, second);
        Assert.False(second.IsCancellationRequested);

        requests.Cancel(2);
        Assert.True(second.IsCancellationRequested);
    }

    [Fact]
    public void ACancelledSourceOrOneNotMarkedReusableIsNeverHandedOut()
    {
        var requests = new InFlightRequests();
        Assert.True(requests.TryStart(1, out var cancelled));
        requests.Cancel(1);
        requests.Finish(1, cancelled, reusable: true);
        Assert.True(requests.TryStart(2, out var kept));
        requests.Finish(2, kept, reusable: false);   // e.g. a persisted request, whose run may still hold the token

        Assert.True(requests.TryStart(3, out var next));
        Assert.NotSame(cancelled, next);
        Assert.NotSame(kept, next);
        Assert.False(next.IsCancellationRequested);
    }

    [Fact]
    public void ADuplicateIdIsRefusedAndClosingCancelsEveryRequestAndEveryLaterOne()
    {
        var requests = new InFlightRequests();
        Assert.True(requests.TryStart(1, out var running));
        Assert.False(requests.TryStart(1, out _));

        requests.CancelAll();
        Assert.True(running.IsCancellationRequested);
        Assert.True(requests.TryStart(2, out var late));
        Assert.True(late.IsCancellationRequested);
    }
}
