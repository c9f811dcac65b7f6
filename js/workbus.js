// The JavaScript face of workbus: argument checks, Error classes, listeners, thenables and
// async iterators around the wasm engine (`./core.js`). Every rule of the system lives in
// the engine; the façade only shapes values and calls for JavaScript.
//
// This module is the public surface: it only re-exports the public names of the façade's
// modules (the entries re-export everything it exports).
//
//   constants.js      statuses, event names, stream parts, defaults (from boundary.js, generated
//                     from src/boundary.rs)
//   checks.js         argument checks (TypeError naming the argument)
//   log.js            setLogger and the façade's log lines
//   errors.js         JobError, JobGroupError
//   listeners.js      on/off/once
//   disposable.js     `using` / `await using`
//   contexts.js       JobContext, JobGroupContext, JobGroup: the requester side of jobs
//   request.js        JobRequest: the worker side of jobs
//   buses.js          LocalBus, MessagePortBus, BroadcastChannelBus, transfer
//   registry.js       WorkerRegistry
//   runner.js         WorkerRunner
//   worker.js         Worker
//   activation.js     WorkerActivationArgs, LLMWorkerActivationArgs
//   realms.js         spawnWorker, serveWorkers (through spawn.js, which loads it on first use)
//   ui-worker.js      UIWorker (Pipecat's BaseUIWorker)
//
// Pipecat's JSON codec and the network links are the package's subpaths (js/sub/*.js), which the
// Node and Deno entries also re-export; the browser entry leaves them out, so that a page pays
// for them only when it imports them:
//   sub/wire.js       encodeMessage, decodeMessage (messages.js; wire.js reads and writes it)
//   sub/redis.js      RedisBus (redis-bus.js)
//   sub/pgmq.js       PgmqBus (pgmq-bus.js)
//   sub/websocket.js  WebSocketProxyClient, WebSocketProxyServer (websocket-proxy-client.js,
//                     proxy-server.js: both halves of Pipecat's WebSocket proxy)

export { JobStatus, JobEvent, JobGroupEvent } from "./constants.js";
export { setLogger } from "./log.js";
export { JobError, JobGroupError } from "./errors.js";
export { transfer, LocalBus, MessagePortBus, BroadcastChannelBus } from "./buses.js";
export { WorkerRegistry } from "./registry.js";
export { WorkerRunner } from "./runner.js";
export { Worker } from "./worker.js";
export { WorkerActivationArgs, LLMWorkerActivationArgs } from "./activation.js";
export { spawnWorker, serveWorkers } from "./spawn.js";
export { UIWorker } from "./ui-worker.js";
