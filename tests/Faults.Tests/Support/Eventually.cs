namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>Polls a condition until it holds or a time limit passes (no fixed sleeps in tests).</summary>
public static class Eventually
{
    public static async Task True(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what()}.");
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
