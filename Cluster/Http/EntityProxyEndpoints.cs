using System.ComponentModel;
using System.Net.ServerSentEvents;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Http;

/// <summary>
/// The HTTP endpoints of one entity contract's RPCs (Effect's <c>EntityProxyServer</c>): <c>POST /{id}/{rpc}</c> with the
/// message as JSON; a request answers 200 with its reply, a tell 202, a stream server-sent events.
/// </summary>
internal static class EntityProxyEndpoints<TContract>
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private const int MaxIdempotencyKeyLength = 256;

    private const string IdempotencyKeyDescription =
        "The message's primary key (at most 256 characters): a retry with the same key is not handled again and gets the first reply.";

    private static readonly string EntityType = EntityNames.Of<TContract>.Name;

    public static void Map(IEndpointRouteBuilder group, EntityProxyOptions<TContract> options)
    {
        var rpcs = EntityProxyCatalog<TContract>.Rpcs.Where(options.Includes).ToArray();
        foreach (var rpc in rpcs)
        {
            var (name, types) = rpc.Kind switch
            {
                RpcKind.Request => (nameof(MapRequest), new[] { rpc.MessageType, rpc.ReplyType! }),
                RpcKind.Stream => (nameof(MapStream), [rpc.MessageType, rpc.ReplyType!]),
                _ => (nameof(MapTell), [rpc.MessageType]),
            };
            var map = typeof(EntityProxyEndpoints<TContract>).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(types);
            var endpoint = (RouteHandlerBuilder)map.Invoke(null, [group, rpc, options])!;
            // Routing matches the request's content type against these: a message whose parameters are all optional
            // may come without a body, and so without a content type (which only "*/*" matches).
            var bodyOptional = BodyIsOptional(rpc.MessageType);
            endpoint
                .WithName($"{EntityType}.{rpc.Tag}")
                .WithSummary($"{EntityType}.{rpc.Tag}: {Describe(rpc)}")
                .Accepts(rpc.MessageType, bodyOptional, "application/json", bodyOptional ? ["*/*"] : []);
            foreach (var status in ClusterProblems.Statuses)
            {
                endpoint.ProducesProblem(status);
            }
        }

        // Requests that match no RPC's route: an unknown RPC, or a known one whose body is not JSON (routing
        // rejected its content type).
        var known = rpcs.Select(rpc => rpc.Tag).ToArray();
        group.MapPost("/{id}/{rpc}", (string rpc, HttpContext context) => known.Contains(rpc, StringComparer.OrdinalIgnoreCase)
                ? ClusterProblems.NotJson(EntityType, rpc, context.Request.ContentType)
                : ClusterProblems.NoSuchRpc(EntityType, rpc, known))
            .ExcludeFromDescription();
    }

    /// <summary>True when <c>{}</c> makes a whole message: a parameterless constructor, or one whose parameters all have defaults.</summary>
    private static bool BodyIsOptional(Type messageType) =>
        messageType.GetConstructors().Any(constructor => constructor.GetParameters().All(parameter => parameter.HasDefaultValue));

    private static string Describe(EntityProxyRpc rpc) => rpc.Kind switch
    {
        RpcKind.Request => rpc.Persisted ? "persisted request; an Idempotency-Key header runs it once per key" : "request → reply",
        RpcKind.Stream => rpc.Persisted ? "persisted stream of server-sent events; an Idempotency-Key header runs it once per key" : "stream of server-sent events",
        _ => rpc.Persisted ? "persisted tell (202 once stored); an Idempotency-Key header runs it once per key" : "tell (202 once the mailbox took it)",
    };

    private static RouteHandlerBuilder MapRequest<TMessage, TReply>(IEndpointRouteBuilder group, EntityProxyRpc rpc, EntityProxyOptions<TContract> options)
        where TMessage : class
    {
        var endpoint = rpc.Persisted
            ? group.MapPost(Pattern(rpc), (string id, [FromHeader(Name = IdempotencyKeyHeader), Description(IdempotencyKeyDescription)] string? idempotencyKey, HttpContext context) =>
                AskAsync<TMessage, TReply>(id, rpc, options, context))
            : group.MapPost(Pattern(rpc), (string id, HttpContext context) => AskAsync<TMessage, TReply>(id, rpc, options, context));
        return endpoint.Produces<TReply>(StatusCodes.Status200OK);
    }

    private static RouteHandlerBuilder MapTell<TMessage>(IEndpointRouteBuilder group, EntityProxyRpc rpc, EntityProxyOptions<TContract> options)
        where TMessage : class
    {
        var endpoint = rpc.Persisted
            ? group.MapPost(Pattern(rpc), (string id, [FromHeader(Name = IdempotencyKeyHeader), Description(IdempotencyKeyDescription)] string? idempotencyKey, HttpContext context) =>
                TellAsync<TMessage>(id, rpc, options, context))
            : group.MapPost(Pattern(rpc), (string id, HttpContext context) => TellAsync<TMessage>(id, rpc, options, context));
        return endpoint.Produces(StatusCodes.Status202Accepted);
    }

    private static RouteHandlerBuilder MapStream<TMessage, TItem>(IEndpointRouteBuilder group, EntityProxyRpc rpc, EntityProxyOptions<TContract> options)
        where TMessage : class
    {
        var endpoint = rpc.Persisted
            ? group.MapPost(Pattern(rpc), (string id, [FromHeader(Name = IdempotencyKeyHeader), Description(IdempotencyKeyDescription)] string? idempotencyKey, HttpContext context) =>
                StreamAsync<TMessage, TItem>(id, rpc, options, context))
            : group.MapPost(Pattern(rpc), (string id, HttpContext context) => StreamAsync<TMessage, TItem>(id, rpc, options, context));
        return endpoint.Produces<TItem>(StatusCodes.Status200OK, "text/event-stream");
    }

    private static string Pattern(EntityProxyRpc rpc) => "/{id}/" + rpc.Tag;

    private static Task<IResult> AskAsync<TMessage, TReply>(string id, EntityProxyRpc rpc, EntityProxyOptions<TContract> options, HttpContext context)
        where TMessage : class =>
        SendAsync<TMessage, TReply>(id, rpc, RpcKind.Request, options, context, static reply => TypedResults.Ok(reply));

    private static Task<IResult> TellAsync<TMessage>(string id, EntityProxyRpc rpc, EntityProxyOptions<TContract> options, HttpContext context)
        where TMessage : class =>
        SendAsync<TMessage, object?>(id, rpc, RpcKind.Tell, options, context, static _ => TypedResults.Accepted((string?)null));

    private static async Task<IResult> SendAsync<TMessage, TReply>(
        string id, EntityProxyRpc rpc, RpcKind kind, EntityProxyOptions<TContract> options, HttpContext context, Func<TReply, IResult> answer)
        where TMessage : class
    {
        var (message, key, problem) = await ReadAsync<TMessage>(rpc, context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var sharding = context.RequestServices.GetRequiredService<Sharding>();
        try
        {
            return answer(await sharding.SendAsync<TReply>(Address(sharding, id), kind, message!, context.RequestAborted, key).ConfigureAwait(false));
        }
        catch (Exception ex) when (ClusterProblems.For(ex, options.HandlerErrorStatus) is { } failure)
        {
            return failure;
        }
    }

    /// <summary>
    /// Waits for the stream's first item before answering, so a stream that cannot start (unknown RPC, handler error)
    /// is a problem response; an error after that is the stream's last event, of type <c>error</c>.
    /// </summary>
    private static async Task<IResult> StreamAsync<TMessage, TItem>(string id, EntityProxyRpc rpc, EntityProxyOptions<TContract> options, HttpContext context)
        where TMessage : class
    {
        var (message, key, problem) = await ReadAsync<TMessage>(rpc, context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var sharding = context.RequestServices.GetRequiredService<Sharding>();
        var items = sharding.StreamAsync<TItem>(Address(sharding, id), message!, context.RequestAborted, key).GetAsyncEnumerator(context.RequestAborted);
        bool first;
        try
        {
            first = await items.MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ClusterProblems.For(ex, options.HandlerErrorStatus) is { } failure)
        {
            await items.DisposeAsync().ConfigureAwait(false);
            return failure;
        }

        return TypedResults.ServerSentEvents(Events(items, first, JsonOptionsOf(context), options));
    }

    private static async IAsyncEnumerable<SseItem<string>> Events<TItem>(IAsyncEnumerator<TItem> items, bool any, JsonSerializerOptions json, EntityProxyOptions<TContract> options)
    {
        await using (items.ConfigureAwait(false))
        {
            var more = any;
            while (more)
            {
                yield return new SseItem<string>(JsonSerializer.Serialize(items.Current, json));
                EntityProxyProblem? failure = null;
                try
                {
                    more = await items.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ClusterProblems.For(ex, options.HandlerErrorStatus) is { } problem)
                {
                    failure = problem;
                    more = false;
                }

                if (failure is not null)
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(failure.Details, json), "error");
                }
            }
        }
    }

    /// <summary>The message from the JSON body (an empty body is <c>{}</c>: missing parameters take their defaults) and the Idempotency-Key, or the problem with them.</summary>
    private static async Task<(TMessage? Message, string? Key, EntityProxyProblem? Problem)> ReadAsync<TMessage>(EntityProxyRpc rpc, HttpContext context)
        where TMessage : class
    {
        string? key = null;
        if (context.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            if (!rpc.Persisted)
            {
                return (null, null, ClusterProblems.BadIdempotencyKey($"{EntityType}.{rpc.Tag} is not persisted, so it is not de-duplicated; send it without an Idempotency-Key."));
            }

            key = keys.Count == 1 ? keys[0] : null;
            if (string.IsNullOrWhiteSpace(key) || key.Length > MaxIdempotencyKeyLength)
            {
                return (null, null, ClusterProblems.BadIdempotencyKey($"An Idempotency-Key is one non-empty value of at most {MaxIdempotencyKeyLength} characters."));
            }
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        var json = body.Length == 0 ? "{}"u8.ToArray() : body.GetBuffer().AsMemory(0, (int)body.Length);
        try
        {
            return JsonSerializer.Deserialize<TMessage>(json.Span, JsonOptionsOf(context)) is { } message
                ? (message, key, null)
                : (null, null, ClusterProblems.Malformed($"The body of {EntityType}.{rpc.Tag} must be a JSON object, not null."));
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            return (null, null, ClusterProblems.Malformed(ex.Message));
        }
    }

    private static JsonSerializerOptions JsonOptionsOf(HttpContext context) =>
        context.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions ?? JsonSerializerOptions.Web;

    private static EntityAddress Address(Sharding sharding, string id) => sharding.GetEntity<TContract>(id).Address;
}
