namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>Writes a test's measurements to its output and to <c>fault-results/&lt;name&gt;.txt</c> beside the test assembly.</summary>
public sealed class Report(ITestOutputHelper output, string name)
{
    private readonly List<string> _lines = [];

    public static string Directory => System.IO.Path.Combine(AppContext.BaseDirectory, "fault-results");

    public string Path => System.IO.Path.Combine(Directory, name + ".txt");

    public void Line(string line)
    {
        output.WriteLine(line);
        lock (_lines)
        {
            _lines.Add(line);
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllLines(Path, _lines);
        }
    }
}
