using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Tests.Hosting;

namespace SocketRunnerAspire.Cluster.Tests.Entities;

/// <summary>
/// Messages are tied to their entity at compile time: a handler or a send for another entity's message does not
/// compile, and the wire name is read from the contract only.
/// </summary>
public sealed class EntityContractTests
{
    private const string Snippet = """
        using System.Threading.Tasks;
        using SocketRunnerAspire.Cluster;
        using SocketRunnerAspire.Cluster.Entities;
        using SocketRunnerAspire.Cluster.Hosting;

        public sealed class Counter;
        public sealed class Cart;
        public sealed record Increment(int By) : IEntityRequest<Counter, int>;
        public sealed record AddItem(string Sku) : IEntityRequest<Cart, int>;
        public sealed record Reset : IEntityMessage<Counter>;
        public sealed record Watch : IEntityStreamRequest<Counter, int>;

        public sealed class CounterEntity
        {
            public ValueTask<int> Handle(object message) => ValueTask.FromResult(0);
        }

        public static class Usage
        {
            public static void Register(ClusterBuilder cluster) => cluster.AddEntity<Counter, CounterEntity>(entity => entity
                .On<MESSAGE, int>((counter, message) => counter.Handle(message)));

            public static Task<int> Send(IEntityClient entities) => entities.GetEntity<Counter>("c-1").AskAsync(new MESSAGE(SEND_ARGUMENT));
        }
        """;

    [Fact]
    public void TheSnippetCompilesWithTheEntitysOwnMessage()
    {
        Assert.Empty(Errors(Snippet.Replace("MESSAGE", "Increment").Replace("SEND_ARGUMENT", "1")));
    }

    [Fact]
    public void AHandlerForAnotherEntitysMessageDoesNotCompile()
    {
        var source = Snippet
            .Replace(".On<MESSAGE, int>", ".On<AddItem, int>")
            .Replace("MESSAGE", "Increment").Replace("SEND_ARGUMENT", "1");

        var errors = Errors(source);

        // CS0311: AddItem is not convertible to IEntityRequest<Counter, int>, the constraint of On's TRequest (the
        // compiler may add follow-up errors for the same lambda; every error is on the registration's line).
        Assert.Contains(errors, e => e.Id == "CS0311"
            && e.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("IEntityRequest<Counter, int>", StringComparison.Ordinal));
        Assert.Single(errors.Select(e => e.Location.GetLineSpan().StartLinePosition.Line).Distinct());
    }

    [Fact]
    public void SendingAnotherEntitysMessageDoesNotCompile()
    {
        var source = Snippet
            .Replace(".On<MESSAGE, int>", ".On<Increment, int>")
            .Replace("new MESSAGE(SEND_ARGUMENT)", "new AddItem(\"tea\")");

        var error = Assert.Single(Errors(source));

        // CS1503: AddItem cannot be passed as IEntityRequest<Counter, int>.
        Assert.Equal("CS1503", error.Id);
    }

    [Theory]
    [InlineData("entities.GetEntity<Counter>(\"c-1\").TellAsync(new Reset())", true)]
    [InlineData("entities.GetEntity<Cart>(\"c-1\").TellAsync(new Reset())", false)]
    [InlineData("entities.GetEntity<Counter>(\"c-1\").StreamAsync(new Watch())", true)]
    [InlineData("entities.GetEntity<Cart>(\"c-1\").StreamAsync(new Watch())", false)]
    public void TellAndStreamTakeOnlyTheEntitysMessages(string call, bool compiles)
    {
        var source = Snippet.Replace("MESSAGE", "Increment").Replace("SEND_ARGUMENT", "1")
            .Replace("public static class Usage\n{", "public static class Usage\n{\n    public static object Other(IEntityClient entities) => " + call + ";\n");

        Assert.Equal(compiles, Errors(source).Count == 0);
    }

    [Fact]
    public void TheBindingMethodsConstrainTheMessageToTheContract()
    {
        // The same check as the compiler's, through reflection: every On overload refuses Shout (Echo's) for Greeter.
        var overloads = typeof(EntityDefinition<Greeter, GreeterEntity>).GetMethods().Where(m => m.Name == "On").ToArray();
        Assert.Equal(3, overloads.Length);
        foreach (var on in overloads)
        {
            Assert.NotNull(on.MakeGenericMethod(typeof(Greet), typeof(string)));
            Assert.Throws<ArgumentException>(() => on.MakeGenericMethod(typeof(Shout), typeof(string)));
        }

        var ask = typeof(EntityRef<Greeter>).GetMethod(nameof(EntityRef<Greeter>.AskAsync))!.GetParameters()[0].ParameterType;
        Assert.Equal(typeof(IEntityRequest<,>), ask.GetGenericTypeDefinition());
        Assert.Equal(typeof(Greeter), ask.GetGenericArguments()[0]);
    }

    [Fact]
    public void TheWireNameAndShardGroupComeFromTheContract()
    {
        var cluster = new ClusterBuilder()
            .AddEntity<Greeter, GreeterEntity>(GreeterEntity.Configure)
            .AddEntity<Grouped, GroupedEntity>(_ => { });

        Assert.Equal(["Greeter", "Grouped.Wire"], cluster.Entities.Select(e => e.Name));
        Assert.Equal(typeof(Greeter), cluster.Entities[0].ContractType);
        Assert.Equal(typeof(GreeterEntity), cluster.Entities[0].ClrType);
        Assert.Equal("eu", cluster.Entities[1].ShardGroup);
        Assert.Equal(["Greet"], cluster.Entities[0].RpcTags);
    }

    [Fact]
    public void AnImplementationThatRepeatsTheNameIsRejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ClusterBuilder().AddEntity<Greeter, StaleGreeterEntity>(_ => { }));

        Assert.Contains("stated once, on the contract Greeter", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExplicitFactoryIsUsedInsteadOfActivatorUtilities()
    {
        var created = 0;
        var cluster = new ClusterBuilder().AddEntity<Greeter, GreeterEntity>(
            context => { created++; return new GreeterEntity(new GreetingFormat("{0}"), context); }, GreeterEntity.Configure);

        var entity = cluster.Entities[0].Factory(null!);

        Assert.IsType<GreeterEntity>(entity);
        Assert.Equal(1, created);
    }

    private static List<Diagnostic> Errors(string source)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Append(typeof(ClusterBuilder).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create(
            "Snippet",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    [EntityName("Grouped.Wire", ShardGroup = "eu")]
    public sealed class Grouped;

    public sealed class GroupedEntity;

    [EntityName("Greeter")]
    public sealed class StaleGreeterEntity;
}
