using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

public sealed class StreamCreditsTests
{
    [Fact]
    public void GrantsAddToTheStreamsCreditAndAClosedStreamTakesNoMore()
    {
        var credits = new StreamCredits();
        var credit = credits.Open(5);

        Assert.True(credits.TryGrant(5, 3));
        Assert.Equal(3, credit.CurrentCount);

        credits.Close(5, credit);
        Assert.False(credits.TryGrant(5, 3));
        Assert.False(credits.TryGrant(6, 1));
    }

    [Fact]
    public void CreditBeyondAnyWindowIsMalformed()
    {
        var credits = new StreamCredits();
        credits.Open(1);

        Assert.Throws<MalformedFrameException>(() => GrantForever(credits, 1));
    }

    private static void GrantForever(StreamCredits credits, long id)
    {
        while (true)
        {
            credits.TryGrant(id, RunnerSocketOptions.MaxStreamWindow);
        }
    }
}
