using System.Buffers;
using System.Text.Json;
using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Builds one ndjson line (a JSON value and <c>\n</c>) into pooled bytes with a per-thread <see cref="Utf8JsonWriter"/>:
/// building a frame allocates nothing but the rented buffer. The writer callback must not await.
/// </summary>
internal static class EffectJsonLine
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = false, Indented = false };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>The bytes of the value <paramref name="write"/> writes, then a newline.</summary>
    public static PooledBytes Build<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var output = PooledBufferWriter.Rent();
        var writer = t_writer;
        t_writer = null; // a nested build on this thread gets its own writer
        try
        {
            if (writer is null)
            {
                writer = new Utf8JsonWriter(output, Options);
            }
            else
            {
                writer.Reset(output);
            }

            write(writer, state);
            writer.Flush();
            output.GetSpan(1)[0] = (byte)'\n';
            output.Advance(1);
            writer.Reset(Stream.Null);
            t_writer = writer;
            return output.Detach();
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>The JSON of a value <paramref name="write"/> writes (no newline), for a value nested in another frame later.</summary>
    public static PooledBytes BuildValue<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var line = Build(state, write);
        return new PooledBytes(line.Array!, line.Length - 1);
    }

    /// <summary>Takes the next complete line (without its <c>\n</c>) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadTo(out line, (byte)'\n'))
        {
            buffer = buffer.Slice(reader.Position);
            return true;
        }

        return false;
    }
}
