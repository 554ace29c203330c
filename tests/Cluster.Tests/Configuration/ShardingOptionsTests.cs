using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Hosting;

namespace SocketRunnerAspire.Cluster.Tests.Configuration;

public sealed class ShardingOptionsTests
{
    [Fact]
    public void DefaultsAreEffectsShardingConfigDefaults()
    {
        var o = new ShardingOptions();

        Assert.Null(o.RunnerAddress);
        Assert.True(o.IsClientOnly);
        Assert.Equal(1, o.RunnerShardWeight);
        Assert.Equal(["default"], o.AvailableShardGroups);
        Assert.Equal(["default"], o.AssignedShardGroups);
        Assert.Equal(300, o.ShardsPerGroup);
        Assert.Equal(TimeSpan.FromSeconds(10), o.ShardLockRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(35), o.ShardLockExpiration);
        Assert.True(o.PreemptiveShutdown);
        Assert.Equal(4096, o.EntityMailboxCapacity);
        Assert.Equal(0, o.MaxResidentEntities);
        Assert.Equal(TimeSpan.FromMinutes(1), o.EntityMaxIdleTime);
        Assert.Equal(TimeSpan.FromMinutes(1), o.EntityRegistrationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), o.EntityTerminationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), o.EntityMessagePollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(200), o.EntityReplyPollInterval);
        Assert.Equal(TimeSpan.FromSeconds(3), o.RefreshAssignmentsInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.SendRetryInterval);
        Assert.Equal(TimeSpan.FromMinutes(1), o.RunnerHealthCheckInterval);
        Assert.True(o.SimulateRemoteSerialization);
        Assert.True(new ShardingOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void BindsFromTheClusterSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:RunnerAddress:Host"] = "10.0.0.5",
            ["Cluster:RunnerAddress:Port"] = "40000",
            ["Cluster:ShardsPerGroup"] = "64",
            ["Cluster:ShardLockExpiration"] = "00:00:20",
            ["Cluster:EntityMailboxCapacity"] = "0",
            ["Cluster:MaxResidentEntities"] = "50000",
        }).Build();
        using var provider = new ServiceCollection().AddCluster(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ShardingOptions>>().Value;

        Assert.Equal(new RunnerAddress("10.0.0.5", 40000), options.RunnerAddress!.ToRunnerAddress());
        Assert.Equal(64, options.ShardsPerGroup);
        Assert.Equal(TimeSpan.FromSeconds(20), options.ShardLockExpiration);
        Assert.Equal(0, options.EntityMailboxCapacity);
        Assert.Equal(50_000, options.MaxResidentEntities);
    }

    [Theory]
    [InlineData("Cluster:ShardsPerGroup", "0", "ShardsPerGroup must be at least 1")]
    [InlineData("Cluster:ShardsPerGroup", "-3", "ShardsPerGroup must be at least 1")]
    [InlineData("Cluster:ShardLockExpiration", "00:00:10", "ShardLockExpiration (00:00:10) must be longer than ShardLockRefreshInterval")]
    [InlineData("Cluster:RunnerShardWeight", "0", "RunnerShardWeight must be greater than 0")]
    [InlineData("Cluster:EntityMailboxCapacity", "-1", "EntityMailboxCapacity must be 0 (unbounded) or positive")]
    [InlineData("Cluster:MaxResidentEntities", "-1", "MaxResidentEntities must be 0 (unbounded) or positive")]
    [InlineData("Cluster:SendRetryInterval", "00:00:00", "SendRetryInterval must be positive")]
    [InlineData("Cluster:RunnerAddress:Port", "70000", "RunnerAddress:Port must be 1..65535")]
    [InlineData("Cluster:AssignedShardGroups:0", "nope", "AssignedShardGroups contains groups not in AvailableShardGroups: nope")]
    public async Task InvalidSettingsFailAtStartWithAClearMessage(string key, string value, string message)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.Services.AddCluster(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
