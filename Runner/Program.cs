using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Runner.Entities;
using SocketRunnerAspire.Runner.Jobs;
using SocketRunnerAspire.Runner.State;
using SocketRunnerAspire.Runner.Workflows;
using SocketRunnerAspire.Cluster.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Serves the runner protocol on Cluster:RunnerAddress, coordinates through the "storage" Redis
// connection (ConnectionStrings:storage, set by the AppHost), and hosts the sample entities (a shop's
// carts and inventory, and counters), the checkout workflow, one singleton job and one cron schedule.
builder.AddClusterRunner("storage", cluster =>
{
    CartEntity.Register(cluster);
    InventoryEntity.Register(cluster);
    CounterEntity.Register(cluster);
    CheckoutWorkflow.Register(cluster);
    cluster.AddSingletonJob(ClusterReport.Name, ClusterReport.RunAsync);
    cluster.AddCron(Heartbeat.Name, Heartbeat.Schedule, Heartbeat.RunAsync);
});

builder.Services.AddSingleton<EntityStateStore>();
builder.Services.AddSingleton<PaymentGateway>();
builder.Services.AddSingleton<CheckoutLedger>();

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
    // Managed heap now (including garbage not yet collected) and as of the last GC, for soak checks.
    managedBytes = GC.GetTotalMemory(forceFullCollection: false),
    heapAfterLastGcBytes = GC.GetGCMemoryInfo().HeapSizeBytes,
}));

app.Run();
