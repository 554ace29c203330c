using System.Diagnostics;
using Xunit;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// Polls until a condition holds or a time limit passes (no fixed sleeps in tests). <c>True</c> throws a
/// <see cref="TimeoutException"/> naming what was awaited; <c>GetAsync</c> returns the observed value, or fails the
/// test with a description of the last observation.
/// </summary>
/// <remarks>
/// By default synchronous conditions (usually in-memory state) are polled every 20 ms, asynchronous ones (usually I/O
/// such as an HTTP probe) every 100 ms, and <c>GetAsync</c> observations every 250 ms; <c>every</c> / <c>interval</c>
/// sets another pace.
/// </remarks>
public static class Eventually
{
    private static readonly TimeSpan SyncPoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan AsyncPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ObservePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ObserveTimeout = TimeSpan.FromSeconds(30);

    public static Task True(Func<bool> condition, TimeSpan timeout, string what, TimeSpan? every = null) =>
        True(condition, timeout, () => what, every);

    /// <summary>As above, describing what was awaited (and what is still missing) only when it times out.</summary>
    public static Task True(Func<bool> condition, TimeSpan timeout, Func<string> what, TimeSpan? every = null) =>
        PollAsync(() => Task.FromResult(condition()), timeout, what, every ?? SyncPoll);

    public static Task True(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? every = null) =>
        True(condition, timeout, () => what, every);

    public static Task True(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, TimeSpan? every = null) =>
        PollAsync(condition, timeout, what, every ?? AsyncPoll);

    /// <summary>
    /// Observes a value until <paramref name="done"/> accepts it and returns it; after <paramref name="timeout"/>
    /// (30 s by default) fails the test with <paramref name="describe"/> of the last observation.
    /// </summary>
    public static Task<T> GetAsync<T>(Func<T> observe, Func<T, bool> done, Func<T, string> describe, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        GetAsync(() => Task.FromResult(observe()), done, describe, timeout, interval);

    public static async Task<T> GetAsync<T>(Func<Task<T>> observe, Func<T, bool> done, Func<T, string> describe, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var limit = timeout ?? ObserveTimeout;
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            var value = await observe();
            if (done(value))
            {
                return value;
            }

            if (elapsed.Elapsed > limit)
            {
                Assert.Fail(describe(value));
            }

            await Task.Delay(interval ?? ObservePoll);
        }
    }

    private static async Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, TimeSpan every)
    {
        var elapsed = Stopwatch.StartNew();
        while (!await condition())
        {
            if (elapsed.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what()}.");
            }

            await Task.Delay(every);
        }
    }
}
