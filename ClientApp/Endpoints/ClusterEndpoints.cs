using SocketRunnerAspire.Cluster;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>Operator diagnostics: where an entity lives and which runners the client sees.</summary>
public static class ClusterEndpoints
{
    public sealed record Location(string EntityType, string EntityId, string Shard, string? Runner);

    public sealed record RunnerView(string Address, bool Healthy, double Weight, int Shards);

    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        var cluster = app.MapGroup("/cluster").WithTags("Cluster");

        cluster.MapGet("/locate/{entityType}/{entityId}", (string entityType, string entityId, IEntityClient entities) =>
            {
                var (shard, runner) = entities.Locate(entityType, entityId);
                return new Location(entityType, entityId, shard.ToString(), runner?.ToString());
            })
            .WithName("Locate").WithSummary("The shard of an entity and the runner that owns it.");

        cluster.MapGet("/runners", (Sharding sharding) =>
            {
                var shards = sharding.AssignedShardCounts();
                return sharding.Runners
                    .OrderBy(r => r.Runner.Address.ToString(), StringComparer.Ordinal)
                    .Select(r => new RunnerView(r.Runner.Address.ToString(), r.Healthy, r.Runner.Weight, shards.GetValueOrDefault(r.Runner.Address)))
                    .ToArray();
            })
            .WithName("Runners").WithSummary("Registered runners with health and assigned shard counts.");

        return app;
    }
}
