// Shared pieces of the Effect cluster nodes used by the interop tests: the Counter entity's RPCs and the cluster
// layer (socket transport, ndjson serialization, SQL storage on PostgreSQL in lock-table mode).
//
// The layer is NodeClusterSocket.layer of @effect/platform-node 4.1.0 composed by hand (same pieces, see
// node_modules/@effect/platform-node/src/NodeClusterSocket.ts), for two reasons:
//  - the table prefix: NodeClusterSocket.layer({ storage: "sql" }) always uses Effect's default prefix "cluster",
//    and the C# tests give every test its own prefix;
//  - the runner health mode: NodeClusterSocket.layer offers only "ping" and "k8s". HEALTH=noop selects
//    RunnerHealth.layerNoop, which every other runner (e.g. a C# runner that does not speak Effect's RPC protocol and
//    so never answers Effect's Ping) keeps healthy.
//
// Environment:
//   PG_URL              postgres://user@127.0.0.1:port/db (required)
//   TABLE_PREFIX        Effect's table prefix (default "cluster")
//   RUNNER_HOST / RUNNER_PORT   the runner's advertised (and listen) address (runner.mjs only)
//   SHARDS_PER_GROUP    default 300
//   SHARD_GROUPS        comma separated assigned groups (default "default")
//   AVAILABLE_SHARD_GROUPS  comma separated groups of the whole cluster (default: SHARD_GROUPS)
//   RUNNER_WEIGHT       default 1
//   HEALTH              "ping" (Effect's default for NodeClusterSocket) or "noop"
//   LOG_LEVEL           Effect log level for stderr (default "Info")
//   REPORT_RUNNERS_MS   runner.mjs only: print what Effect's RunnerStorage.getRunners returns every n ms
// Fixed: shardLockDisableAdvisory true, refreshAssignmentsInterval 1 s, entityMessagePollInterval 1 s; the rest is
// ShardingConfig.defaults (shardLockExpiration 35 s, shardLockRefreshInterval 10 s, runnerHealthCheckInterval 1 min).
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node-shared/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcSerialization from "effect/rpc/RpcSerialization"

export const env = (name, fallback) => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    if (fallback === undefined) throw new Error(`environment variable ${name} is required`)
    return fallback
  }
  return value
}

// Counter entity: Increment { amount } -> new total, IncrementPersisted (same, persisted), Get {} -> total, Where {} -> the answering runner's address,
// Count { upTo } -> stream 1..upTo.
export const Increment = Rpc.make("Increment", { payload: { amount: Schema.Number }, success: Schema.Number })
export const Get = Rpc.make("Get", { success: Schema.Number })
export const Where = Rpc.make("Where", { success: Schema.String })
export const Count = Rpc.make("Count", { payload: { upTo: Schema.Number }, success: Schema.Number, stream: true })
// The same as Increment, but persisted (ClusterSchema.Persisted): it goes through {prefix}_messages/_replies.
export const IncrementPersisted = Rpc.make("IncrementPersisted", {
  payload: { amount: Schema.Number },
  success: Schema.Number
}).annotate(ClusterSchema.Persisted, true)
export const Counter = Entity.make("Counter", [Increment, IncrementPersisted, Get, Where, Count])

export const shardingOptions = (clientOnly) => {
  const host = env("RUNNER_HOST", "127.0.0.1")
  const port = Number(env("RUNNER_PORT", clientOnly ? "0" : undefined))
  return {
    // A client-only node has no address of its own (Effect's layerClientOnly never registers it).
    runnerAddress: clientOnly ? Option.none() : Option.some(RunnerAddress.make(host, port)),
    runnerShardWeight: Number(env("RUNNER_WEIGHT", "1")),
    shardsPerGroup: Number(env("SHARDS_PER_GROUP", "300")),
    availableShardGroups: env("AVAILABLE_SHARD_GROUPS", env("SHARD_GROUPS", "default")).split(","),
    assignedShardGroups: env("SHARD_GROUPS", "default").split(","),
    // Lock-table mode, as the C# PostgreSQL storage: rows in {prefix}_locks instead of advisory locks.
    shardLockDisableAdvisory: true,
    // Pick up runners that join quickly (Effect's default is 3 s).
    refreshAssignmentsInterval: "1 second",
    entityMessagePollInterval: "1 second"
  }
}

export const clusterLayer = ({ clientOnly }) => {
  const prefix = env("TABLE_PREFIX", "cluster")
  const health = env("HEALTH", "ping")
  const transport = clientOnly
    ? Layer.provide(SocketRunner.layerClientOnly, layerClientProtocol)
    : Layer.provide(SocketRunner.layer, [layerSocketServer, layerClientProtocol])
  const runnerHealth = clientOnly
    ? Layer.empty
    : health === "noop"
    ? RunnerHealth.layerNoop
    : RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))
  const pg = PgClient.layer({ url: Redacted.make(env("PG_URL")) })
  return transport.pipe(
    Layer.provide(runnerHealth),
    Layer.provideMerge(SqlMessageStorage.layerWith({ prefix }).pipe(Layer.provide(NodeCrypto.layerDigest))),
    // Merged (not only provided) so runner.mjs can read the runners Effect's storage lists.
    Layer.provideMerge(Layer.orDie(SqlRunnerStorage.layerWith({ prefix }))),
    Layer.provide(ShardingConfig.layer(shardingOptions(clientOnly))),
    Layer.provide(RpcSerialization.layerNdjson),
    Layer.provide(Layer.orDie(pg))
  )
}

// Effect's logs go to stderr, so stdout carries only the JSON lines the tests read.
export const stderrLogger = Layer.merge(
  Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
  Layer.succeed(References.MinimumLogLevel, env("LOG_LEVEL", "Info"))
)

export const printLine = (value) => Effect.sync(() => process.stdout.write(JSON.stringify(value) + "\n"))
