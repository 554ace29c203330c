using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Contracts;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Client-only participant: reads the runner registry from storage and sends to entities over
// outgoing connections; hosts none.
builder.AddClusterClient();

var app = builder.Build();

app.MapDefaultEndpoints();

app.MapGet("/", (Sharding sharding) => Results.Ok(new
{
    service = "clientapp",
    runners = sharding.Runners.Select(r => r.Runner.Address.ToString()).Order(StringComparer.Ordinal).ToArray(),
}));

// Sample domain: a counter per id, living on whichever runner owns its shard.
app.MapPost("/counters/{id}/increment", async (string id, Sharding sharding, CancellationToken cancellationToken, int by = 1) =>
{
    var value = await sharding.GetEntity<Counter>(id).AskAsync(new Increment(by), cancellationToken);
    return Results.Ok(new { id, value = value.Value, runner = value.Runner });
});

app.MapGet("/counters/{id}", async (string id, Sharding sharding, CancellationToken cancellationToken) =>
{
    var value = await sharding.GetEntity<Counter>(id).AskAsync(new GetValue(), cancellationToken);
    return Results.Ok(new { id, value = value.Value, runner = value.Runner });
});

// Operator diagnostics.
app.MapGet("/cluster/locate/{entityType}/{entityId}", (string entityType, string entityId, Sharding sharding) =>
{
    var (shard, runner) = sharding.Locate(entityType, entityId);
    return Results.Ok(new { entityType, entityId, shard = shard.ToString(), runner = runner?.ToString() });
});

app.MapGet("/cluster/runners", (Sharding sharding) =>
{
    var shards = sharding.AssignedShardCounts();
    return Results.Ok(sharding.Runners
        .OrderBy(r => r.Runner.Address.ToString(), StringComparer.Ordinal)
        .Select(r => new
        {
            address = r.Runner.Address.ToString(),
            healthy = r.Healthy,
            weight = r.Runner.Weight,
            shards = shards.GetValueOrDefault(r.Runner.Address),
        }));
});

app.Run();
