using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// Counts log entries by level and keeps (up to 100) only those at Warning or above that <paramref name="expected"/>
/// does not accept, so a long run does not grow memory with expected lines.
/// </summary>
public sealed class ProblemLoggerProvider(Func<LogLevel, string, Exception?, bool> expected) : ILoggerProvider
{
    private readonly int[] _counts = new int[7];
    private readonly Func<LogLevel, string, Exception?, bool> _expected = expected;

    public ConcurrentQueue<string> Problems { get; } = new();

    public int Count(LogLevel level) => Volatile.Read(ref _counts[(int)level]);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(builder => builder.AddProvider(this).SetMinimumLevel(LogLevel.Debug));

    public void Dispose()
    {
    }

    private sealed class Logger(ProblemLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Interlocked.Increment(ref provider._counts[(int)logLevel]);
            if (logLevel < LogLevel.Warning || provider.Problems.Count >= 100)
            {
                return;
            }

            var message = formatter(state, exception);
            if (!provider._expected(logLevel, message, exception))
            {
                provider.Problems.Enqueue($"{logLevel} {category}: {message} {exception}");
            }
        }
    }
}
