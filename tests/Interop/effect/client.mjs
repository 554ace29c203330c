// A client-only Effect cluster node (SocketRunner.layerClientOnly) on the same storage as the runners: sends
// Increment { amount } to every Counter id, asks Where of each id (the answering runner's address) and prints one
// JSON line per id, then a summary line, and exits 0; any failure exits non-zero.
//
// Arguments: entity ids (default: IDS env, comma separated; else counter-1..counter-N with N = COUNT, default 10).
// Environment: see cluster.mjs, plus AMOUNT (default 1), PERSISTED=1 (send IncrementPersisted instead), STREAM_UP_TO (if set, also runs Count { upTo } on the
// first id and prints its chunks), TIMEOUT_MS (default 30000).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { clusterLayer, Counter, env, printLine, stderrLogger } from "./cluster.mjs"

const argIds = process.argv.slice(2)
const ids = argIds.length > 0
  ? argIds
  : process.env.IDS
  ? process.env.IDS.split(",")
  : Array.from({ length: Number(env("COUNT", "10")) }, (_, i) => `counter-${i + 1}`)
const amount = Number(env("AMOUNT", "1"))
const persisted = env("PERSISTED", "0") === "1"
const streamUpTo = process.env.STREAM_UP_TO ? Number(process.env.STREAM_UP_TO) : undefined

const program = Effect.gen(function*() {
  const clientFor = yield* Counter.client
  const runners = {}
  for (const id of ids) {
    const counter = clientFor(id)
    const value = yield* (persisted ? counter.IncrementPersisted({ amount }) : counter.Increment({ amount }))
    const runner = yield* counter.Where()
    runners[runner] = (runners[runner] ?? 0) + 1
    yield* printLine({ id, value, runner })
  }
  let stream
  if (streamUpTo !== undefined) {
    stream = yield* Stream.runCollect(clientFor(ids[0]).Count({ upTo: streamUpTo }))
    yield* printLine({ id: ids[0], stream })
  }
  yield* printLine({ done: true, count: ids.length, runners })
}).pipe(
  Effect.timeout(Number(env("TIMEOUT_MS", "30000"))),
  Effect.provide(clusterLayer({ clientOnly: true })),
  Effect.provide(stderrLogger)
)

NodeRuntime.runMain(program)
