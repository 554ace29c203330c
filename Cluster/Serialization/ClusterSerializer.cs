using System.Buffers;
using System.Text.Json;
using MessagePack;
using MessagePack.Resolvers;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Serialization;

/// <summary>
/// Serializes entity messages and replies with MessagePack. The default resolver handles
/// <c>[MessagePackObject]</c> types and plain records/classes (contractless); formatters are built once
/// per type and cached by MessagePack, so no reflection runs per message.
/// </summary>
public sealed class ClusterSerializer
{
    // Before Default, which reads it as it is initialized.
    private static readonly JsonSerializerOptions DefaultJsonOptions = ReadOnly(new JsonSerializerOptions(JsonSerializerDefaults.Web));
    private readonly JsonSerializerOptions _jsonOptions = DefaultJsonOptions;

    /// <summary>The serializer with the default options.</summary>
    public static ClusterSerializer Default { get; } = new(
        MessagePackSerializerOptions.Standard
            .WithResolver(ContractlessStandardResolver.Instance)
            .WithSecurity(MessagePackSecurity.UntrustedData));

    /// <summary>Creates a serializer with <paramref name="options"/>.</summary>
    public ClusterSerializer(MessagePackSerializerOptions options) => Options = options;

    /// <summary>The MessagePack options in use.</summary>
    public MessagePackSerializerOptions Options { get; }

    /// <summary>
    /// How entity messages and replies are written as JSON, for peers that carry them as JSON (Effect's runner protocol,
    /// whose payloads are Effect's JSON codec output). Web defaults: camelCase names, case-insensitive reading, numbers
    /// readable from strings. System.Text.Json builds each type's contract once and caches it in these options.
    /// </summary>
    /// <remarks>Made read-only when set (with the reflection resolver when it has none): contracts are looked up per type.</remarks>
    public JsonSerializerOptions JsonOptions
    {
        get => _jsonOptions;
        init => _jsonOptions = ReadOnly(value ?? throw new ArgumentNullException(nameof(value)));
    }

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// Reads a message sent to an entity from JSON; failures (and null, which a handler must not be given) become
    /// <see cref="MalformedMessageException"/>. A JSON <c>null</c> payload reads as <c>{}</c> (Effect sends a payload-less RPC's payload as null).
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNull]
    internal T DeserializeJsonMessage<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            var value = json.SequenceEqual("null"u8) ? JsonSerializer.Deserialize<T>("{}"u8, JsonOptions) : JsonSerializer.Deserialize<T>(json, JsonOptions);
            return value ?? throw new MalformedMessageException($"Could not read {typeof(T).Name} from JSON: the message is null.");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new MalformedMessageException($"Could not read {typeof(T).Name} from JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a <typeparamref name="T"/> (a reply) from JSON; failures become <see cref="MalformedMessageException"/>.</summary>
    internal T DeserializeJson<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, JsonOptions)!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new MalformedMessageException($"Could not read {typeof(T).Name} from JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes a message sent to an entity as JSON by its runtime type into <paramref name="output"/>. A message without
    /// fields is written as <c>null</c>: Effect encodes a payload-less RPC's (<c>Schema.Void</c>) payload so, and refuses <c>{}</c>.
    /// </summary>
    internal void SerializeJsonObject(IBufferWriter<byte> output, object value)
    {
        try
        {
            using var writer = new Utf8JsonWriter(output);
            var info = JsonOptions.GetTypeInfo(value.GetType());
            if (info.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object && info.Properties.Count == 0)
            {
                writer.WriteNullValue();
                return;
            }

            JsonSerializer.Serialize(writer, value, info);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new MalformedMessageException($"Could not write {value.GetType().Name} as JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Writes <paramref name="value"/> as JSON into <paramref name="output"/>; failures become <see cref="MalformedMessageException"/>.</summary>
    internal void SerializeJson<T>(Utf8JsonWriter output, T value)
    {
        try
        {
            JsonSerializer.Serialize(output, value, JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new MalformedMessageException($"Could not write {typeof(T).Name} as JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Serializes <paramref name="value"/>; failures become <see cref="MalformedMessageException"/>.</summary>
    public byte[] Serialize<T>(T value)
    {
        try
        {
            return MessagePackSerializer.Serialize(value, Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new MalformedMessageException($"Could not serialize {typeof(T).Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>Serializes <paramref name="value"/> into <paramref name="output"/>; failures become <see cref="MalformedMessageException"/>.</summary>
    public void Serialize<T>(IBufferWriter<byte> output, T value)
    {
        try
        {
            MessagePackSerializer.Serialize(output, value, Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new MalformedMessageException($"Could not serialize {typeof(T).Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>Serializes <paramref name="value"/> by its runtime type into <paramref name="output"/>.</summary>
    public void SerializeObject(IBufferWriter<byte> output, object value)
    {
        try
        {
            MessagePackSerializer.Serialize(value.GetType(), output, value, Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new MalformedMessageException($"Could not serialize {value.GetType().Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>Serializes <paramref name="value"/> by its runtime type.</summary>
    public byte[] SerializeObject(object value)
    {
        try
        {
            return MessagePackSerializer.Serialize(value.GetType(), value, Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new MalformedMessageException($"Could not serialize {value.GetType().Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>Deserializes a <typeparamref name="T"/>; failures (and bytes after the value) become <see cref="MalformedMessageException"/>.</summary>
    public T Deserialize<T>(ReadOnlyMemory<byte> bytes)
    {
        T value;
        int read;
        try
        {
            value = MessagePackSerializer.Deserialize<T>(bytes, Options, out read);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new MalformedMessageException($"Could not deserialize {typeof(T).Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }

        return read == bytes.Length
            ? value
            : throw new MalformedMessageException($"Could not deserialize {typeof(T).Name}: {bytes.Length - read} bytes after the value.");
    }

    /// <summary>
    /// Deserializes a message sent to an entity: as <see cref="Deserialize{T}"/>, and nil is malformed too
    /// (a sender always sends a message; a handler must not be given null).
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNull]
    internal T DeserializeMessage<T>(ReadOnlyMemory<byte> bytes) =>
        Deserialize<T>(bytes) ?? throw new MalformedMessageException($"Could not deserialize {typeof(T).Name}: the message is nil.");
}
