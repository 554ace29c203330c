using Microsoft.Extensions.Configuration;
using SocketRunnerAspire.AppHost;
using SocketRunnerAspire.AppHost.Storage;

var builder = DistributedApplication.CreateBuilder(args);

var storage = builder.AddClusterStorage("storage");

var runnerCount = builder.Configuration.GetValue(ClusterTopology.RunnerCountKey, ClusterTopology.DefaultRunnerCount);
if (runnerCount < 1)
{
    throw new InvalidOperationException($"{ClusterTopology.RunnerCountKey} must be at least 1 (was {runnerCount}).");
}

var clientApp = builder.AddProject<Projects.ClientApp>("clientapp")
    .WithClusterStorage(storage)
    .WithHttpHealthCheck("/health");

for (var i = 1; i <= runnerCount; i++)
{
    var runner = builder.AddProject<Projects.Runner>(ClusterTopology.RunnerName(i))
        // Every runner is the same project: drop the launch profile's fixed port so each gets its own.
        .WithEndpoint("http", endpoint => endpoint.Port = null)
        .WithEndpoint(name: ClusterTopology.RunnerEndpointName, scheme: "tcp", env: "Cluster__RunnerAddress__Port")
        .WithEnvironment("Cluster__RunnerAddress__Host", "localhost")
        .WithClusterStorage(storage)
        .WithHttpHealthCheck("/health");

    clientApp.WithReference(runner.GetEndpoint(ClusterTopology.RunnerEndpointName));
}

builder.Build().Run();
