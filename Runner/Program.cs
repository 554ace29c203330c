using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Runner.Entities;
using SocketRunnerAspire.Runner.Jobs;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Serves the runner protocol on Cluster:RunnerAddress, coordinates through the "storage" Redis
// connection, and hosts the sample entities, one singleton and one cron schedule.
builder.AddClusterRunner(cluster =>
{
    CounterEntity.Register(cluster);
    cluster.AddSingleton(ClusterReport.Name, ClusterReport.RunAsync);
    cluster.AddCron(Heartbeat.Name, Heartbeat.Schedule, Heartbeat.RunAsync);
});

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGet("/", (Sharding sharding) => Results.Ok(new
{
    service = "runner",
    runner = sharding.Address?.ToString(),
    runnerPort = sharding.Address?.Port,
    machineId = sharding.MachineId,
    shardsOwned = sharding.OwnedShards.Count,
    singletons = sharding.RunningSingletons,
}));

app.Run();
