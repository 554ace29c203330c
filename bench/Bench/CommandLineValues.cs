namespace SocketRunnerAspire.Bench;

/// <summary>Reads <c>--name value</c> pairs and <c>--flag</c> switches from the command line.</summary>
public static class CommandLineValues
{
    public static string? ValueOf(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] == name)
            {
                return args[i + 1];
            }
        }

        return null;
    }

    public static string Required(IReadOnlyList<string> args, string name) =>
        ValueOf(args, name) ?? throw new ArgumentException($"Missing {name} <value>.");

    public static int RequiredInt(IReadOnlyList<string> args, string name) =>
        int.Parse(Required(args, name), System.Globalization.CultureInfo.InvariantCulture);

    public static bool Has(IReadOnlyList<string> args, string flag) => args.Contains(flag);
}
