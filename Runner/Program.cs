using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Runner.Entities;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Serves the runner protocol on Cluster:RunnerAddress, coordinates through the "storage" Redis
// connection, and hosts the sample entities.
builder.AddClusterRunner(CounterEntity.Register);

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGet("/", (Sharding sharding) => Results.Ok(new
{
    service = "runner",
    runner = sharding.Address?.ToString(),
    runnerPort = sharding.Address?.Port,
    machineId = sharding.MachineId,
    shardsOwned = sharding.OwnedShards.Count,
}));

app.Run();
