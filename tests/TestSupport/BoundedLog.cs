using System.Collections.Concurrent;
using System.Text;

namespace SocketRunnerAspire.TestSupport;

/// <summary>The last lines a process wrote, time-stamped, for failure messages.</summary>
public sealed class BoundedLog(int capacity)
{
    private readonly ConcurrentQueue<string> _lines = new();

    public void Add(string source, string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} [{source}] {line}");
        while (_lines.Count > capacity && _lines.TryDequeue(out _))
        {
        }
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var line in _lines)
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }
}
