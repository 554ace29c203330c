namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>Polls until a condition holds, failing with the last observation after a bounded wait.</summary>
internal static class Eventually
{
    public static Task<T> GetAsync<T>(Func<T> observe, Func<T, bool> done, Func<T, string> describe, TimeSpan? timeout = null) =>
        GetAsync(() => Task.FromResult(observe()), done, describe, timeout);

    public static async Task<T> GetAsync<T>(Func<Task<T>> observe, Func<T, bool> done, Func<T, string> describe, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await observe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail(describe(value));
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250));
        }
    }
}
