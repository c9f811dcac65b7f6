// Node entry of the package. The wasm-bindgen `nodejs` core (./core.js) loads and instantiates
// the wasm synchronously with `fs` when it is first required, so there is nothing to initialise:
// `init()` and `initSync()` exist only so that the same code runs unchanged in a browser.
import { setFlagsFromString } from "node:v8";
import * as workerThreads from "node:worker_threads";
import { host } from "./host.js";

export * from "./workbus.js";
// The subpaths' names too: `import { RedisBus } from "workbus"` works in Node as well as
// `from "workbus/redis"` (pkg/node/redis.cjs re-exports them from this entry: one instance).
export * from "./sub/wire.js";
export * from "./sub/redis.js";
export * from "./sub/pgmq.js";
export * from "./sub/websocket.js";

// spawnWorker/serveWorkers use worker threads; `process.getBuiltinModule` only exists from
// Node 20.16, so the entry hands the module over.
host.workerThreads = workerThreads;

// V8 11 (Node 20) can crash in its deoptimizer ("Fatal error ... unreachable code") when it has
// inlined calls from JavaScript into WebAssembly; workbus makes many such calls, so it turns that
// inlining off there. Later V8 versions are left alone. This is why the package's Node files
// are listed in `sideEffects` (scripts/assemble.mjs).
if (Number.parseInt(process.versions.v8, 10) <= 11) setFlagsFromString("--no-turbo-inline-js-wasm-calls");

export default async function init() {}

export function initSync() {}
