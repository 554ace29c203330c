using System.Text.Json;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// A defect as Effect's <c>Schema.Defect</c> encodes it: an error as <c>{name, message}</c>, anything else as its text.
/// </summary>
internal readonly record struct EffectDefect(string? Name, string Message)
{
    /// <summary>A defect that is only text (Effect sends e.g. <c>"Unknown request tag: X"</c> this way).</summary>
    public static EffectDefect Text(string message) => new(null, message);

    /// <summary>The defect an exception becomes: a handler failure is named after the exception the handler threw.</summary>
    public static EffectDefect From(Exception exception) => exception switch
    {
        EntityHandlerException handler => new(ShortName(handler.ErrorType), handler.Message),
        _ => new(NameOf(exception), exception.Message),
    };

    /// <summary>Writes the defect as a JSON value.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        if (Name is null)
        {
            writer.WriteStringValue(Message);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("name"u8, Name);
        writer.WriteString("message"u8, Message);
        writer.WriteEndObject();
    }

    /// <summary>Cluster errors go by their Effect names (<c>MalformedMessage</c>, <c>PersistenceError</c>, …), others by their type name.</summary>
    private static string NameOf(Exception exception)
    {
        var name = exception.GetType().Name;
        name = name.EndsWith("Exception", StringComparison.Ordinal) ? name[..^"Exception".Length] : name;
        return exception is PersistenceException ? "PersistenceError" : name;
    }

    private static string ShortName(string typeName) => typeName.LastIndexOf('.') is var i and >= 0 ? typeName[(i + 1)..] : typeName;
}
