namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>The AppHost's model for each configuration, built but not started.</summary>
public sealed class AppModelTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task ExternalStorageIsTheConfiguredConnectionStringReferencedByEveryProject()
    {
        const string connection = "redis.example:6380,password=secret,ssl=true";
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Storage:Mode=External", $"--ConnectionStrings:storage={connection}", "--Cluster:Runners=2"], Timeout);

        Assert.DoesNotContain(appHost.Resources, r => r.Name == "garnet" || r is ContainerResource);
        var projects = appHost.Resources.OfType<ProjectResource>().Select(r => r.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["clientapp", "runner-1", "runner-2"], projects);
        var storage = Assert.Single(appHost.Resources.OfType<IResourceWithConnectionString>(), r => r.Name == "storage");
        Assert.Equal(connection, await storage.GetConnectionStringAsync(Timeout));
        Assert.All(appHost.Resources.OfType<ProjectResource>(), project => Assert.Contains(
            project.Annotations.OfType<ResourceRelationshipAnnotation>(), relation => relation.Resource == storage));
    }

    [Fact]
    public async Task EveryRunnerAndTheClientProveOneGeneratedClusterSecret()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Storage:Mode=Garnet", "--Cluster:Runners=2"], Timeout);

        var secret = Assert.Single(appHost.Resources.OfType<ParameterResource>(), p => p.Name == "cluster-secret");
        Assert.True(secret.Secret);
        Assert.True((await secret.GetValueAsync(Timeout))!.Length >= 32);
        foreach (var project in appHost.Resources.OfType<ProjectResource>().Where(p => p.Name != "garnet"))
        {
            var context = new EnvironmentCallbackContext(new Aspire.Hosting.DistributedApplicationExecutionContext(Aspire.Hosting.DistributedApplicationOperation.Publish));
            foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(context);
            }

            Assert.Same(secret, context.EnvironmentVariables["Cluster__Socket__ClusterSecret"]);
        }
    }

    [Fact]
    public async Task ExternalStorageWithoutAConnectionStringIsAClearError()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Storage:Mode=External"], Timeout));

        Assert.Contains("ConnectionStrings:storage", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownStorageModeNamesTheChoices()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Storage:Mode=Cassandra"], Timeout));

        Assert.Contains("Auto, Container, Garnet, External, Postgres", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgresStorageIsTheConfiguredConnectionStringAndTellsEveryProjectItIsPostgres()
    {
        const string connection = "Host=127.0.0.1;Port=5432;Username=cluster;Database=cluster";
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Storage:Mode=Postgres", $"--ConnectionStrings:storage={connection}", "--Cluster:Runners=2"], Timeout);

        Assert.DoesNotContain(appHost.Resources, r => r.Name == "garnet" || r is ContainerResource);
        var storage = Assert.Single(appHost.Resources.OfType<IResourceWithConnectionString>(), r => r.Name == "storage");
        Assert.Equal(connection, await storage.GetConnectionStringAsync(Timeout));
        var projects = appHost.Resources.OfType<ProjectResource>().ToArray();
        Assert.Equal(["clientapp", "runner-1", "runner-2"], projects.Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var project in projects)
        {
            var context = new EnvironmentCallbackContext(new Aspire.Hosting.DistributedApplicationExecutionContext(Aspire.Hosting.DistributedApplicationOperation.Publish));
            foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(context);
            }

            Assert.Equal("Postgres", context.EnvironmentVariables["Cluster__Storage"]);
        }
    }

    [Fact]
    public async Task PostgresStorageWithoutAConnectionStringIsAClearError()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Storage:Mode=Postgres"], Timeout));

        Assert.Contains("Storage:Mode=Postgres needs the connection string ConnectionStrings:storage", Flatten(error), StringComparison.Ordinal);
    }

    private static string Flatten(Exception error) => string.Join(" | ", Enumerate(error).Select(e => e.Message));

    private static IEnumerable<Exception> Enumerate(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
        }
    }
}
