using System.Globalization;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// How much the fuzz tests run and from which seed. CI runs the defaults (the frame decoder alone gets
/// <see cref="CiFrames"/> random and mutated frames); <c>FUZZ_ITERATIONS=n</c> makes the frame decoder's count n and
/// scales every other fuzz count by the same factor; <c>FUZZ_SEED=s</c> replays a run (every fuzz test prints its seed).
/// </summary>
public static class FuzzSettings
{
    /// <summary>Random and mutated frames the frame decoder test runs in CI.</summary>
    public const int CiFrames = 100_000;

    /// <summary>The fixed default seed, so CI runs the same inputs every time.</summary>
    public const int DefaultSeed = 20_251_010;

    public static double Scale { get; } = ReadScale();

    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
        ? seed
        : DefaultSeed;

    /// <summary><paramref name="ciCount"/> scaled by <c>FUZZ_ITERATIONS</c> (at least 1).</summary>
    public static int Count(int ciCount) => Math.Max(1, (int)Math.Min(int.MaxValue, Math.Round(ciCount * Scale)));

    /// <summary>A line for the test output naming how to replay the run.</summary>
    public static string Describe(string test, int count) =>
        $"{test}: {count:N0} inputs, seed {Seed} (replay with FUZZ_SEED={Seed}{(Scale == 1 ? "" : $" FUZZ_ITERATIONS={Math.Round(CiFrames * Scale)}")}).";

    private static double ReadScale() =>
        long.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? (double)n / CiFrames
            : 1;
}
