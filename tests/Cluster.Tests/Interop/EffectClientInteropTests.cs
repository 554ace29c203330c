using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Storage.Postgres;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Cluster.Tests.Interop;

/// <summary>
/// The entity <c>Counter</c>, defined in both languages (<c>tests/Interop/effect/cluster.mjs</c>,
/// <see cref="InteropCounter"/>), called for many ids with one Effect runner and one C# runner on one PostgreSQL: first
/// from a client-only node of Effect's own TypeScript runtime (<c>client.mjs</c>), then from a C# client-only node
/// whose socket transport speaks Effect's protocol (<see cref="RunnerProtocol.Effect"/>). Every id's calls reach the
/// runner the hash ring names, in either language, over Effect's socket protocol (ndjson), which the C# runner's port
/// serves beside the native one.
/// </summary>
public sealed class EffectClientInteropTests(PostgresServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>
{
    private const int Ids = 1_000;

    [SkippableFact]
    public async Task AnEffectClientReachesTheCounterOnEffectAndCSharpRunnersWhereverItsShardLands()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        Skip.If(EffectNode.SkipReason is not null, EffectNode.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var effectAddress = FreePort.Loopback();
        // Effect's ping health: the Effect runner pings the C# runner with Effect's Ping RPC, which it answers.
        Dictionary<string, string> Environment(RunnerAddress? address) =>
            new(EffectRunnerInteropTests.EffectEnvironment(postgres, prefix, address, health: "ping")) { ["TIMEOUT_MS"] = "180000" };

        EffectNode? effect = null;
        TestCluster? cluster = null;
        try
        {
            effect = await EffectRunnerInteropTests.StartEffectRunnerAsync(Environment(effectAddress), effectAddress);
            cluster = await TestCluster.StartAsync(1,
                tweak: o =>
                {
                    o.ShardLockExpiration = EffectRunnerInteropTests.Lease;
                    o.StorageTimeout = TimeSpan.FromSeconds(5);
                    // Our ping health too, over Effect's protocol (the transport's): the Effect runner must stay healthy.
                    o.RunnerHealth = RunnerHealthKind.Ping;
                    o.RunnerHealthCheckInterval = TimeSpan.FromSeconds(1);
                },
                storage: new PostgresRunnerStorage(postgres.DataSource, EffectRunnerInteropTests.Lease, prefix),
                transports: () => new SocketRunnerTransport(new RunnerSocketOptions { Protocol = RunnerProtocol.Effect }),
                addresses: _ => FreePort.Loopback(),
                messages: new PostgresMessageStorage(postgres.DataSource, prefix),
                configure: builder => InteropCounter.Register(builder),
                withCounter: false,
                waitUntilStable: false);
            var csharp = cluster.Runners.Single().Address!.Value;

            var expected = ShardAssignment.Compute(
                    [new RunnerInfo(effectAddress, [ShardId.DefaultGroup], 1), new RunnerInfo(csharp, [ShardId.DefaultGroup], 1)],
                    [ShardId.DefaultGroup], TestCluster.ShardsPerGroup)
                .ToDictionary(p => p.Key.ToString(), p => p.Value.ToString());
            await Eventually.True(async () =>
            {
                var locks = await EffectRunnerInteropTests.LocksAsync(postgres, prefix);
                return locks.Count == expected.Count && expected.All(p => locks.GetValueOrDefault(p.Key) == p.Value);
            }, EffectRunnerInteropTests.Patience, "the lock rows split the shards as the hash ring assigns them");

            // The first id is the C# runner's, so the stream RPC (on the first id) crosses languages.
            var first = EffectRunnerInteropTests.EntityIdOwnedBy(expected, csharp, "stream-");
            var ids = new[] { first }.Concat(Enumerable.Range(1, Ids - 1).Select(i => $"counter-{i}")).ToArray();
            await using var client = EffectNode.Start("client.mjs", new Dictionary<string, string>(Environment(null)) { ["STREAM_UP_TO"] = "5", ["AMOUNT"] = "3" }, ids);
            var answered = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var line = await client.NextLineAsync(EffectRunnerInteropTests.Patience);
                Assert.Equal(id, line.GetProperty("id").GetString());
                Assert.Equal(3, line.GetProperty("value").GetInt32());
                var owner = expected[ShardingHash.ShardOf(id, ShardId.DefaultGroup, TestCluster.ShardsPerGroup).ToString()];
                Assert.Equal(owner, line.GetProperty("runner").GetString());
                answered[owner] = answered.GetValueOrDefault(owner) + 1;
            }

            var stream = await client.NextLineAsync(EffectRunnerInteropTests.Patience);
            Assert.Equal([1, 2, 3, 4, 5], stream.GetProperty("stream").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            Assert.True((await client.NextLineAsync(EffectRunnerInteropTests.Patience)).GetProperty("done").GetBoolean());
            Assert.Equal(0, await client.WaitForExitAsync(EffectRunnerInteropTests.Patience));
            output.WriteLine($"answered: {string.Join(", ", answered.Select(a => $"{a.Key} {a.Value}"))}");
            Assert.True(answered.GetValueOrDefault(csharp.ToString()) > Ids / 4, "the C# runner answered its share of the ids");
            Assert.True(answered.GetValueOrDefault(effectAddress.ToString()) > Ids / 4, "the Effect runner answered its share of the ids");

            // The same ids from C#: each counter is at 3 from the Effect client, wherever it lives.
            using var concurrency = new SemaphoreSlim(32);
            var fromCSharp = await Task.WhenAll(ids.Select(async id =>
            {
                await concurrency.WaitAsync();
                try
                {
                    var counter = cluster.Client.GetEntity<InteropCounter>(id);
                    var value = await counter.AskAsync(new InteropIncrement(2)).WaitAsync(EffectRunnerInteropTests.Patience);
                    return (Id: id, Value: value, Runner: await counter.AskAsync(new InteropWhere()).WaitAsync(EffectRunnerInteropTests.Patience));
                }
                catch (Exception ex)
                {
                    throw new InvalidOperationException($"{id} (owner {expected[ShardingHash.ShardOf(id, ShardId.DefaultGroup, TestCluster.ShardsPerGroup).ToString()]}) failed from C#: {ex}", ex);
                }
                finally
                {
                    concurrency.Release();
                }
            }));
            Assert.All(fromCSharp, reply =>
            {
                Assert.Equal(5, reply.Value);
                Assert.Equal(expected[ShardingHash.ShardOf(reply.Id, ShardId.DefaultGroup, TestCluster.ShardsPerGroup).ToString()], reply.Runner);
            });
            var effectOwned = EffectRunnerInteropTests.EntityIdOwnedBy(expected, effectAddress, "stream-");
            var items = new List<int>();
            await foreach (var item in cluster.Client.GetEntity<InteropCounter>(effectOwned).StreamAsync(new InteropCount(4)))
            {
                items.Add(item);
            }

            Assert.Equal([1, 2, 3, 4], items);

            // Both health checks (Effect's of the C# runner, ours of the Effect runner, every second) left both healthy.
            await using var healthy = postgres.DataSource.CreateCommand($"SELECT COUNT(*) FROM {prefix}_runners WHERE healthy");
            Assert.Equal(2L, (long)(await healthy.ExecuteScalarAsync())!);
        }
        catch
        {
            output.WriteLine(effect?.Log ?? "(no Effect runner)");
            if (cluster is not null)
            {
                foreach (var (level, category, message) in cluster.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Information))
                {
                    output.WriteLine($"{level} {category}: {message}");
                }
            }

            throw;
        }
        finally
        {
            if (effect is not null)
            {
                await effect.DisposeAsync();
            }

            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }
    }
}
