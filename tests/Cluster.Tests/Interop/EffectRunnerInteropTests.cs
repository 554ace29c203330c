using System.Text.Json;
using Npgsql;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Storage.Postgres;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Cluster.Tests.Interop;

/// <summary>
/// One runner of Effect's own TypeScript cluster runtime (<c>tests/Interop/effect/runner.mjs</c>: effect 4.1.0,
/// <c>SqlRunnerStorage</c>/<c>SqlMessageStorage</c> on PostgreSQL in lock-table mode) and one C# runner with
/// <see cref="PostgresRunnerStorage"/> and <see cref="PostgresMessageStorage"/> on the same tables: each decodes the
/// other's runner row, and the lock rows end up split between them exactly as <see cref="ShardAssignment"/> (our port
/// of Effect's <c>HashRing</c>) assigns the shards. Once with the C# side creating the schema and the Effect runner
/// joining it, once the other way round. Each side also gets a persisted request through the tables to a runner of
/// its own (the runners do not speak each other's RPC protocol yet, so no request crosses languages), and when the C#
/// runner leaves, the Effect runner takes over every shard.
/// </summary>
/// <remarks>
/// Runner health is <c>noop</c> on both sides: Effect's default RunnerHealth pings every runner with its RPC protocol,
/// which our C# runner does not answer yet, so an Effect runner with <c>HEALTH=ping</c> would, at its first health
/// check (<c>runnerHealthCheckInterval</c>, 1 minute), mark the C# runner unhealthy in <c>{prefix}_runners</c> and take
/// its shards (Effect never marks the last healthy runner unhealthy); our ping health would likewise fail against the
/// Effect runner.
/// </remarks>
public sealed class EffectRunnerInteropTests(PostgresServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>
{
    // Effect's default shardLockExpiration (runner.mjs keeps it): both sides must agree on when a lock row has expired.
    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(35);
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnEffectRunnerAndACSharpRunnerSeeEachOtherAndSplitTheShardLocksAsTheHashRingAssigns(bool csharpCreatesTheSchema)
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        Skip.If(EffectNode.SkipReason is not null, EffectNode.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var effectAddress = FreePort.Loopback();
        var environment = new Dictionary<string, string>
        {
            ["PG_URL"] = $"postgres://postgres@127.0.0.1:{postgres.Server.Port}/postgres",
            ["TABLE_PREFIX"] = prefix,
            ["RUNNER_HOST"] = effectAddress.Host,
            ["RUNNER_PORT"] = effectAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SHARDS_PER_GROUP"] = TestCluster.ShardsPerGroup.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SHARD_GROUPS"] = ShardId.DefaultGroup,
            ["RUNNER_WEIGHT"] = "1",
            ["HEALTH"] = "noop",
            ["REPORT_RUNNERS_MS"] = "500",
        };
        var effectRunnerInfo = new RunnerInfo(effectAddress, [ShardId.DefaultGroup], 1);

        EffectNode? effect = null;
        TestCluster? cluster = null;
        try
        {
            if (!csharpCreatesTheSchema)
            {
                effect = await StartEffectRunnerAsync(environment, effectAddress);
                Assert.Equal(0L, await ScalarAsync<long>($"SELECT COUNT(*) FROM information_schema.columns WHERE table_name = '{prefix}_messages' AND column_name = 'rpc_kind'"));
            }

            cluster = await TestCluster.StartAsync(1,
                tweak: o =>
                {
                    o.ShardLockExpiration = Lease;
                    o.StorageTimeout = TimeSpan.FromSeconds(5);
                    o.RunnerHealth = RunnerHealthKind.Noop;
                },
                storage: new PostgresRunnerStorage(postgres.DataSource, Lease, prefix),
                transports: () => new SocketRunnerTransport(),
                addresses: _ => FreePort.Loopback(),
                messages: new PostgresMessageStorage(postgres.DataSource, prefix),
                waitUntilStable: false);
            var csharp = cluster.Runners.Single();
            var options = cluster.Options(csharp.Address);
            var csharpRunnerInfo = new RunnerInfo(csharp.Address!.Value, options.AssignedShardGroups, options.RunnerShardWeight);

            effect ??= await StartEffectRunnerAsync(environment, effectAddress);

            // The same tables, whoever made them: Effect's migration histories and our rpc_kind column.
            Assert.Equal("create_tables, entity_type_size, pg_messages_rowid_index",
                await ScalarAsync<string>($"SELECT string_agg(name, ', ' ORDER BY migration_id) FROM {prefix}_migrations"));
            Assert.Equal("create_tables", await ScalarAsync<string>($"SELECT string_agg(name, ', ' ORDER BY migration_id) FROM {prefix}_runner_migrations"));

            // C# decodes Effect's runner row, and its own is there as it registered it.
            await Eventually.True(async () =>
            {
                var runners = await cluster.Storage.GetRunnersAsync(default);
                return runners.Any(r => r.Healthy && Same(r.Runner, effectRunnerInfo)) && runners.Any(r => r.Healthy && Same(r.Runner, csharpRunnerInfo));
            }, Patience, "C#'s storage lists both runners, healthy, with their groups and weights");

            // Effect decodes ours (runner.mjs prints what Effect's RunnerStorage.getRunners returns).
            await WaitForEffectViewAsync(effect, csharpRunnerInfo, effectRunnerInfo);

            // The locks: every shard held by the runner the ring assigns it to, computed from the two runners' rows.
            var expected = ShardAssignment.Compute([effectRunnerInfo, csharpRunnerInfo], [ShardId.DefaultGroup], TestCluster.ShardsPerGroup)
                .ToDictionary(p => p.Key.ToString(), p => p.Value.ToString());
            Assert.Equal(TestCluster.ShardsPerGroup, expected.Count);
            Assert.Contains(effectAddress.ToString(), expected.Values);
            Assert.Contains(csharp.Address.ToString(), expected.Values);
            Dictionary<string, string> locks = [];
            await Eventually.True(async () =>
            {
                locks = await LocksAsync(prefix);
                return locks.Count == expected.Count && expected.All(p => locks.GetValueOrDefault(p.Key) == p.Value);
            }, Patience, "the lock rows split the shards as the hash ring assigns them");
            output.WriteLine($"locks: {locks.Values.Count(a => a == effectAddress.ToString())} Effect, {locks.Values.Count(a => a == csharp.Address.ToString())} C#");
            await Eventually.True(() => expected.All(p => csharp.GetOwner(ShardId.Parse(p.Key))?.ToString() == p.Value)
                && csharp.OwnedShards.Count == expected.Values.Count(a => a == csharp.Address.ToString()),
                Patience, "the C# runner's assignment and owned shards are the ring's");

            // A persisted request on each side, through the shared tables, to a runner of its own language.
            var csharpId = EntityIdOwnedBy(expected, csharp.Address.Value, "cs");
            Assert.Equal(5, await cluster.Client.GetEntity<CounterEntity>(csharpId).AskAsync(new Deposit("interop-deposit", 5)).WaitAsync(Patience));
            var effectIds = Enumerable.Range(0, 3).Select(i => EntityIdOwnedBy(expected, effectAddress, $"ts{i}-")).ToArray();
            await using var client = EffectNode.Start("client.mjs", new Dictionary<string, string>(environment) { ["PERSISTED"] = "1", ["AMOUNT"] = "2" }, effectIds);
            foreach (var id in effectIds)
            {
                var line = await client.NextLineAsync(Patience);
                Assert.Equal(id, line.GetProperty("id").GetString());
                Assert.Equal(2, line.GetProperty("value").GetInt32());
                Assert.Equal(effectAddress.ToString(), line.GetProperty("runner").GetString());
            }

            Assert.True((await client.NextLineAsync(Patience)).GetProperty("done").GetBoolean());
            Assert.Equal(0, await client.WaitForExitAsync(Patience));
            Assert.Equal(effectIds.Length, await ScalarAsync<long>($"SELECT COUNT(*) FROM {prefix}_messages WHERE tag = 'IncrementPersisted' AND processed"));

            // The C# runner leaves (unregisters, releases its lock rows): the Effect runner takes every shard.
            await cluster.StopRunnerAsync(csharp);
            await Eventually.True(async () =>
            {
                locks = await LocksAsync(prefix);
                return locks.Count == expected.Count && locks.Values.All(a => a == effectAddress.ToString());
            }, Patience, "the Effect runner holds every shard once the C# runner has left");
            Assert.Equal(0L, await ScalarAsync<long>($"SELECT COUNT(*) FROM {prefix}_runners WHERE address = '{csharp.Address}'"));
        }
        catch
        {
            output.WriteLine(effect?.Log ?? "(no Effect runner)");
            if (cluster is not null)
            {
                foreach (var (level, category, message) in cluster.Logs.Entries)
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

    /// <summary>
    /// Effect alone (two runners and a client-only node, as the scripts are meant to be used): every reply comes from
    /// the runner our <see cref="ShardingHash"/> and <see cref="ShardAssignment"/> name for the id, so Effect's own
    /// runtime places entities as our port of its hash and ring says, and the lock rows agree.
    /// </summary>
    [SkippableFact]
    public async Task TwoEffectRunnersAndAnEffectClientPlaceEveryEntityWhereOurHashRingSays()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        Skip.If(EffectNode.SkipReason is not null, EffectNode.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var addresses = new[] { FreePort.Loopback(), FreePort.Loopback() };
        Dictionary<string, string> Environment(RunnerAddress? address) => EffectEnvironment(postgres, prefix, address, health: "ping");

        var runners = new List<EffectNode>();
        try
        {
            foreach (var address in addresses)
            {
                runners.Add(await StartEffectRunnerAsync(Environment(address), address));
            }

            var expected = ShardAssignment.Compute(addresses.Select(a => new RunnerInfo(a, [ShardId.DefaultGroup], 1)).ToArray(), [ShardId.DefaultGroup], TestCluster.ShardsPerGroup)
                .ToDictionary(p => p.Key.ToString(), p => p.Value.ToString());
            await Eventually.True(async () =>
            {
                var locks = await LocksAsync(prefix);
                return locks.Count == expected.Count && expected.All(p => locks.GetValueOrDefault(p.Key) == p.Value);
            }, Patience, "the lock rows split the shards as the hash ring assigns them");

            var ids = Enumerable.Range(1, 20).Select(i => $"counter-{i}").ToArray();
            await using var client = EffectNode.Start("client.mjs", new Dictionary<string, string>(Environment(null)) { ["STREAM_UP_TO"] = "3" }, ids);
            foreach (var id in ids)
            {
                var line = await client.NextLineAsync(Patience);
                Assert.Equal(id, line.GetProperty("id").GetString());
                Assert.Equal(1, line.GetProperty("value").GetInt32());
                Assert.Equal(expected[ShardingHash.ShardOf(id, ShardId.DefaultGroup, TestCluster.ShardsPerGroup).ToString()], line.GetProperty("runner").GetString());
            }

            var stream = await client.NextLineAsync(Patience);
            Assert.Equal([1, 2, 3], stream.GetProperty("stream").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var summary = await client.NextLineAsync(Patience);
            Assert.Equal(ids.Length, summary.GetProperty("count").GetInt32());
            Assert.Equal(0, await client.WaitForExitAsync(Patience));
        }
        catch
        {
            foreach (var runner in runners)
            {
                output.WriteLine(runner.Log);
            }

            throw;
        }
        finally
        {
            foreach (var runner in runners)
            {
                await runner.DisposeAsync();
            }
        }
    }

    /// <summary>The environment of <c>runner.mjs</c> (at <paramref name="address"/>) or <c>client.mjs</c> (null) on this test's tables.</summary>
    internal static Dictionary<string, string> EffectEnvironment(PostgresServerFixture postgres, string prefix, RunnerAddress? address, string health) => new()
    {
        ["PG_URL"] = $"postgres://postgres@127.0.0.1:{postgres.Server.Port}/postgres",
        ["TABLE_PREFIX"] = prefix,
        ["RUNNER_HOST"] = address?.Host ?? "127.0.0.1",
        ["RUNNER_PORT"] = address?.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "0",
        ["SHARDS_PER_GROUP"] = TestCluster.ShardsPerGroup.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SHARD_GROUPS"] = ShardId.DefaultGroup,
        ["RUNNER_WEIGHT"] = "1",
        ["HEALTH"] = health,
    };

    private static bool Same(RunnerInfo a, RunnerInfo b) =>
        a.Address == b.Address && a.Groups.SequenceEqual(b.Groups) && a.Weight.Equals(b.Weight);

    internal static async Task<EffectNode> StartEffectRunnerAsync(IReadOnlyDictionary<string, string> environment, RunnerAddress address)
    {
        var node = EffectNode.Start("runner.mjs", environment);
        try
        {
            var ready = await node.NextLineAsync(Patience);
            Assert.True(ready.GetProperty("ready").GetBoolean(), node.Log);
            Assert.Equal(address.ToString(), ready.GetProperty("address").GetString());
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    private static async Task WaitForEffectViewAsync(EffectNode effect, params RunnerInfo[] runners)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = "(none)";
        while (DateTime.UtcNow < deadline)
        {
            var line = await effect.NextLineAsync(Patience);
            if (!line.TryGetProperty("runners", out var listed))
            {
                continue;
            }

            last = line.GetRawText();
            var seen = listed.EnumerateArray()
                .Where(r => r.GetProperty("healthy").GetBoolean())
                .Select(r => new RunnerInfo(RunnerAddress.Parse(r.GetProperty("address").GetString()!),
                    r.GetProperty("groups").EnumerateArray().Select(g => g.GetString()!).ToArray(), r.GetProperty("weight").GetDouble()))
                .ToArray();
            if (runners.All(expected => seen.Any(s => Same(s, expected))))
            {
                return;
            }
        }

        Assert.Fail($"Effect's RunnerStorage.getRunners never listed every runner healthy; last: {last}\n{effect.Log}");
    }

    /// <summary>An entity id whose shard the assignment gives to <paramref name="owner"/>.</summary>
    internal static string EntityIdOwnedBy(Dictionary<string, string> assignment, RunnerAddress owner, string prefix) =>
        Enumerable.Range(0, 10_000).Select(i => $"{prefix}{i}")
            .First(id => assignment[ShardingHash.ShardOf(id, ShardId.DefaultGroup, TestCluster.ShardsPerGroup).ToString()] == owner.ToString());

    private Task<Dictionary<string, string>> LocksAsync(string prefix) => LocksAsync(postgres, prefix);

    internal static async Task<Dictionary<string, string>> LocksAsync(PostgresServerFixture postgres, string prefix)
    {
        // Only live rows: Effect's "held" is acquired_at >= NOW() - expiry.
        await using var command = postgres.DataSource.CreateCommand(
            $"SELECT shard_id, address FROM {prefix}_locks WHERE acquired_at >= NOW() - make_interval(secs => {Lease.TotalSeconds})");
        await using var reader = await command.ExecuteReaderAsync();
        var locks = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            locks[reader.GetString(0)] = reader.GetString(1);
        }

        return locks;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
