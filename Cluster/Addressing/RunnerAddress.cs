namespace SocketRunnerAspire.Cluster.Addressing;

/// <summary>Where a runner serves the runner protocol: <c>host:port</c>, or a Unix socket path (port 0).</summary>
public readonly record struct RunnerAddress(string Host, int Port)
{
    /// <summary>True for a Unix domain socket path.</summary>
    public bool IsUnixSocket => Port == 0 && Host.StartsWith('/');

    /// <inheritdoc />
    public override string ToString() => IsUnixSocket ? Host : $"{Host}:{Port}";

    /// <summary>Parses <c>host:port</c> or an absolute socket path.</summary>
    public static RunnerAddress Parse(string value)
    {
        if (value.StartsWith('/'))
        {
            return new RunnerAddress(value, 0);
        }

        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{value}' is not a runner address (host:port or /socket/path).");
        }

        return new RunnerAddress(value[..colon].Trim('[', ']'), port);
    }
}
