namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Polls a condition until it holds or a time limit passes (no fixed sleeps in tests).</summary>
public static class Eventually
{
    public static Task True(Func<bool> condition, TimeSpan timeout, string what) => True(condition, timeout, () => what);

    /// <summary>As above, describing what was awaited (and what is still missing) only when it times out.</summary>
    public static async Task True(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what()}.");
            }

            await Task.Delay(20);
        }
    }
}
