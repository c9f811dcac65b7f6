// What the modules the browser build bundles apart from web/index.js use of it: the subpaths
// (js/sub/*.js: the Pipecat JSON codec and the network links) and js/realms.js (loaded by
// spawnWorker/serveWorkers on first use). Those bundles take these from web/index.js's
// `__internals` export (see scripts/assemble.mjs), so that a page has one engine, one logger and
// one set of classes whatever it loads. Not public API.
export { openSealed, sealMessage } from "./core.js";
export { busCore, LocalBus, linkBus, MessagePortBus, portAdapter, reportOnBus } from "./buses.js";
export { checkBoolean, checkCount, checkDuration, checkFunction, checkName, checkOptionalString, checkOptions, describe } from "./checks.js";
export { DEFAULT_SPAWN_TIMEOUT_MS, REGISTRY_MESSAGE, WORKER_EVENTS } from "./constants.js";
export { disposable } from "./disposable.js";
export { host } from "./host.js";
export { assertLoaded } from "./loading.js";
export { log, logError } from "./log.js";
export { remoteRunnerGone, WorkerRunner } from "./runner.js";
export { checkWorker, Worker } from "./worker.js";
