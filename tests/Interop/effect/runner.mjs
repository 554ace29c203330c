// An Effect socket runner hosting the Counter entity (see cluster.mjs for the configuration and environment).
// Prints {"ready":true,"address":"host:port"} on stdout once its layers are built (registered in storage, socket
// server listening), then runs until SIGTERM/SIGINT. Logs go to stderr.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
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

const Main = Ready.pipe(
  Layer.provide(CounterLive),
  Layer.provide(clusterLayer({ clientOnly: false })),
  Layer.provide(stderrLogger)
)

Layer.launch(Main).pipe(Effect.provide(stderrLogger), NodeRuntime.runMain)
