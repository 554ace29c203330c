using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Http;

/// <summary>Maps an entity's RPCs as HTTP endpoints (Effect's <c>EntityProxy</c> / <c>EntityProxyServer</c>).</summary>
public static class EntityProxyEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/{id}/{rpc}</c> for every message of <typeparamref name="TContract"/> (the types in its
    /// assembly that implement <see cref="IEntityRequest{TEntity, TReply}"/>, <see cref="IEntityStreamRequest{TEntity, TItem}"/>
    /// or <see cref="IEntityMessage{TEntity}"/> for it), <c>rpc</c> being the message's RPC tag and the body its JSON
    /// (the app's <c>JsonOptions</c>; an empty body is <c>{}</c>). A request answers 200 with the reply, a tell 202, a
    /// stream server-sent events (one <c>data:</c> JSON event per item, an <c>error</c> event if it fails midway; the
    /// entity's stream stops when the client goes). A persisted message takes an <c>Idempotency-Key</c> header as its
    /// primary key: the same key runs it once and answers every retry with the first reply. Errors are problem
    /// details (<see cref="ClusterProblems"/>). Each operation is described for OpenAPI: tag = entity type,
    /// operationId <c>{type}.{rpc}</c>, request body, reply and problem responses. Sends through the app's
    /// <see cref="Sharding"/> (<c>AddClusterClient</c> or <c>AddClusterRunner</c>).
    /// </summary>
    /// <returns>The group of the entity's endpoints, for conventions such as authorization.</returns>
    public static RouteGroupBuilder MapEntityProxy<TContract>(this IEndpointRouteBuilder endpoints, string prefix, Action<EntityProxyOptions<TContract>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var options = new EntityProxyOptions<TContract>();
        configure?.Invoke(options);
        var group = endpoints.MapGroup(prefix).WithTags(EntityNames.Of<TContract>.Name);
        EntityProxyEndpoints<TContract>.Map(group, options);
        return group;
    }
}
