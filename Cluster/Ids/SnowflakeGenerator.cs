namespace SocketRunnerAspire.Cluster.Ids;

/// <summary>
/// Unique, roughly time-ordered 64-bit ids (Effect's <c>Snowflake</c>):
/// <c>(ms since 2025-01-01 UTC) &lt;&lt; 22 | (machine id mod 1024) &lt;&lt; 12 | (sequence mod 4096)</c>.
/// Lock-free; when 4096 ids are taken in one millisecond it borrows from the next one, so ids never repeat
/// while the clock does not go back by more than what was borrowed.
/// </summary>
public sealed class SnowflakeGenerator
{
    /// <summary>The epoch of the timestamp part.</summary>
    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const int SequenceBits = 12;
    private const int MachineBits = 10;
    private readonly TimeProvider _time;
    private long _last; // (timestamp << 12 | sequence) of the last id

    /// <summary>Creates a generator for <paramref name="machineId"/> (taken mod 1024).</summary>
    public SnowflakeGenerator(long machineId, TimeProvider? time = null)
    {
        MachineId = (int)(((machineId % 1024) + 1024) % 1024);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The machine part of the ids.</summary>
    public int MachineId { get; }

    /// <summary>The next id.</summary>
    public long Next()
    {
        var now = (_time.GetUtcNow() - Epoch).Ticks / TimeSpan.TicksPerMillisecond << SequenceBits;
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                var timestamp = next >> SequenceBits;
                var sequence = next & ((1 << SequenceBits) - 1);
                return timestamp << (MachineBits + SequenceBits) | (long)MachineId << SequenceBits | sequence;
            }
        }
    }

    /// <summary>The parts of <paramref name="id"/>: when it was made, by which machine, and its sequence in that millisecond.</summary>
    public static SnowflakeParts Parse(long id) => new(
        Epoch.AddMilliseconds(id >> (MachineBits + SequenceBits)),
        (int)(id >> SequenceBits) & ((1 << MachineBits) - 1),
        (int)id & ((1 << SequenceBits) - 1));
}

/// <summary>The parts of a Snowflake id.</summary>
/// <param name="Timestamp">When it was made (millisecond precision).</param>
/// <param name="MachineId">The machine (runner registration) that made it, mod 1024.</param>
/// <param name="Sequence">Its sequence within that millisecond (0-4095).</param>
public readonly record struct SnowflakeParts(DateTimeOffset Timestamp, int MachineId, int Sequence);
