using Microsoft.Extensions.Configuration;
using SocketRunnerAspire.AppHost;
using SocketRunnerAspire.AppHost.Cluster;
using SocketRunnerAspire.AppHost.Storage;

var builder = DistributedApplication.CreateBuilder(args);

var storage = builder.AddClusterStorage("storage");
var cluster = builder.AddSocketRunnerCluster("cluster", storage);

var runnerCount = builder.Configuration.GetValue(ClusterTopology.RunnerCountKey, ClusterTopology.DefaultRunnerCount);
if (runnerCount < 1)
{
    throw new InvalidOperationException($"{ClusterTopology.RunnerCountKey} must be at least 1 (was {runnerCount}).");
}

for (var i = 1; i <= runnerCount; i++)
{
    builder.AddProject<Projects.Runner>(ClusterTopology.RunnerName(i))
        // Every runner is the same project: drop the launch profile's fixed port so each gets its own.
        .WithEndpoint("http", endpoint => endpoint.Port = null)
        .WithReference(cluster);
}

builder.AddProject<Projects.ClientApp>("clientapp")
    .WithReference(cluster.AsClient())
    .WithHttpHealthCheck("/health");

builder.Build().Run();
