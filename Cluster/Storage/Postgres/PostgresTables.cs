using System.Text.RegularExpressions;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// The names of Effect's SQL cluster tables for a prefix (Effect's <c>layerWith({ prefix })</c>, default <c>cluster</c>):
/// <c>{prefix}_runners</c>, <c>{prefix}_locks</c>, <c>{prefix}_messages</c>, <c>{prefix}_replies</c>,
/// <c>{prefix}_migrations</c>, <c>{prefix}_runner_migrations</c>; plus the LISTEN/NOTIFY channel <c>{prefix}_changes</c> (ours, not Effect's).
/// </summary>
internal sealed partial record PostgresTables
{
    /// <summary>Effect's default prefix.</summary>
    public const string DefaultPrefix = "cluster";

    /// <summary>Tables for <paramref name="prefix"/>: lower case letters, digits and underscores, starting with a letter or underscore, at most 40 characters (so every derived name stays within PostgreSQL's 63).</summary>
    public PostgresTables(string prefix = DefaultPrefix)
    {
        if (!PrefixPattern().IsMatch(prefix))
        {
            throw new ArgumentException($"'{prefix}' is not a table prefix: use 1 to 40 lower case letters, digits or underscores, not starting with a digit.", nameof(prefix));
        }

        Prefix = prefix;
    }

    public string Prefix { get; }

    public string Runners => Prefix + "_runners";

    public string Locks => Prefix + "_locks";

    public string Messages => Prefix + "_messages";

    public string Replies => Prefix + "_replies";

    /// <summary>Effect's <c>SqlMessageStorage</c> migration history.</summary>
    public string Migrations => Prefix + "_migrations";

    /// <summary>Effect's <c>SqlRunnerStorage</c> migration history (4.1.0 keeps it apart: both start at 0001).</summary>
    public string RunnerMigrations => Prefix + "_runner_migrations";

    /// <summary>The NOTIFY channel of runner and lease changes.</summary>
    public string Changes => Prefix + "_changes";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$")]
    private static partial Regex PrefixPattern();
}
