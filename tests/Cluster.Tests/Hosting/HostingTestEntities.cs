using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>An entity as senders see it: the wire name is stated here only.</summary>
[EntityName("Greeter")]
public sealed class Greeter;

/// <summary>Replies with a greeting for <paramref name="Name"/>.</summary>
public sealed record Greet(string Name) : IEntityRequest<Greeter, string>;

/// <summary>A service the entity takes by constructor injection.</summary>
public sealed class GreetingFormat(string pattern)
{
    public string Format(string name, string entityId) => string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, name, entityId);
}

/// <summary>The runner side of <see cref="Greeter"/>, created through ActivatorUtilities: a service and its context are injected.</summary>
public sealed class GreeterEntity(GreetingFormat format, EntityContext context)
{
    public ValueTask<string> Greet(Greet message) => ValueTask.FromResult(format.Format(message.Name, context.Address.EntityId));

    public static void Configure(EntityDefinition<Greeter, GreeterEntity> entity) => entity.On<Greet, string>((greeter, message) => greeter.Greet(message));
}

/// <summary>An entity that is its own contract, registered with <c>AddEntity&lt;TEntity&gt;</c>; its constructor takes no context.</summary>
public sealed class Echo
{
    public static void Configure(EntityDefinition<Echo, Echo> entity) => entity.On<Shout, string>((_, message) => ValueTask.FromResult(message.Text.ToUpperInvariant()));
}

/// <summary>Replies with <paramref name="Text"/> in capitals.</summary>
public sealed record Shout(string Text) : IEntityRequest<Echo, string>;
