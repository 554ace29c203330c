// An Effect socket runner hosting the Counter entity (see cluster.mjs for the configuration and environment).
// Prints {"ready":true,"address":"host:port"} on stdout once its layers are built (registered in storage, socket
// server listening), then runs until SIGTERM/SIGINT. Logs go to stderr.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as Stream from "effect/Stream"
import * as Rpc from "effect/rpc/Rpc"
import { clusterLayer, Counter, env, printLine, stderrLogger } from "./cluster.mjs"

const address = `${env("RUNNER_HOST", "127.0.0.1")}:${env("RUNNER_PORT")}`

const CounterLive = Counter.toLayer(Effect.gen(function*() {
  const count = yield* Ref.make(0)
  return Counter.of({
    Increment: ({ payload }) => Ref.updateAndGet(count, (n) => n + payload.amount),
    IncrementPersisted: ({ payload }) => Ref.updateAndGet(count, (n) => n + payload.amount),
    Get: () => Rpc.fork(Ref.get(count)),
    Where: () => Effect.succeed(address),
    Count: ({ payload }) => Stream.range(1, payload.upTo)
  })
}))

const Ready = Layer.effectDiscard(printLine({ ready: true, address }))

// REPORT_RUNNERS_MS=n: every n ms, one line {"runners":[{address,groups,weight,healthy}]} with what Effect's
// RunnerStorage.getRunners decodes from {prefix}_runners (rows it cannot decode are skipped, as Effect does).
const reportEvery = Number(env("REPORT_RUNNERS_MS", "0"))
const ReportRunners = reportEvery > 0
  ? Layer.effectDiscard(Effect.gen(function*() {
    const storage = yield* RunnerStorage.RunnerStorage
    yield* storage.getRunners.pipe(
      Effect.flatMap((runners) =>
        printLine({
          runners: runners.map(([runner, healthy]) => ({
            address: `${runner.address.host}:${runner.address.port}`,
            groups: runner.groups,
            weight: runner.weight,
            healthy
          }))
        })
      ),
      Effect.catchCause((cause) => Effect.logWarning("getRunners failed", cause)),
      Effect.repeat(Schedule.spaced(reportEvery)),
      Effect.forkScoped
    )
  }))
  : Layer.empty

const Main = Layer.merge(Ready, ReportRunners).pipe(
  Layer.provide(CounterLive),
  Layer.provideMerge(clusterLayer({ clientOnly: false })),
  Layer.provide(stderrLogger)
)

Layer.launch(Main).pipe(Effect.provide(stderrLogger), NodeRuntime.runMain)
