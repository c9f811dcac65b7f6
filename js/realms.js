// Other realms: spawnWorker starts a Web Worker or worker thread (or a pool of them) and links it
// to a runner's bus; serveWorkers serves a realm's workers to the realm that started it.

import { linkBus, MessagePortBus, portAdapter, reportOnBus } from "./buses.js";
import { checkCount, checkDuration, checkOptionalString, checkOptions, describe } from "./checks.js";
import { DEFAULT_SPAWN_TIMEOUT_MS, REGISTRY_MESSAGE } from "./constants.js";
import { disposable } from "./disposable.js";
import { host } from "./host.js";
import { remoteRunnerGone, WorkerRunner } from "./runner.js";
import { checkWorker } from "./worker.js";

function isPlatformWorker(v) {
  return v !== null && typeof v === "object" && typeof v.postMessage === "function" && typeof v.terminate === "function";
}

/** Node's worker_threads, when this is Node (the Node entry hands it over; Deno's and Bun's
 * `process` may offer it too). */
function workerThreads() {
  return host.workerThreads ?? globalThis.process?.getBuiltinModule?.("node:worker_threads");
}

/** How an error names the script of a realm. */
function scriptName(script) {
  if (!isPlatformWorker(script)) return String(script instanceof URL ? script.href : script);
  return typeof script.name === "string" && script.name ? `worker '${script.name}'` : "the given worker";
}

/**
 * The realm's own error from its Worker's "error" event: Node gives the thrown value; browsers
 * give an ErrorEvent (a script that threw: its message) or a bare Event (the script could not
 * be fetched or parsed), never the worker's own Error object.
 */
function realmError(event, nodeStyle) {
  if (nodeStyle) return event;
  if (event?.error instanceof Error) return event.error;
  return new Error(typeof event?.message === "string" && event.message ? event.message : "the script could not be loaded (missing, not a module, or a syntax error)");
}

function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

function createPlatformWorker(script, name) {
  const threads = workerThreads();
  if (threads) return new threads.Worker(typeof script === "string" && script.startsWith("file:") ? new URL(script) : script, { name });
  if (typeof globalThis.Worker !== "function") throw new Error("Worker is not available in this runtime");
  return new globalThis.Worker(script, { type: "module", name });
}

/**
 * Starts a worker realm (a module Web Worker, or a Node worker thread) running `script`, links
 * it to `runner.bus`, and resolves once the realm's runner has announced its workers. The
 * script serves its workers with `serveWorkers`. With `options.instances` N, starts N realms of
 * the script in parallel and resolves with a pool of them (the engine runs each job to a
 * pooled name on one instance).
 */
export async function spawnWorker(runner, script, options) {
  if (!(runner instanceof WorkerRunner)) throw new TypeError(`runner must be a WorkerRunner, got ${describe(runner)}`);
  const o = checkOptions(options, "options");
  const name = checkOptionalString(o.name, "options.name");
  const timeout = checkDuration(o.timeout, "options.timeout") ?? DEFAULT_SPAWN_TIMEOUT_MS;
  const instances = o.instances === undefined || o.instances === null ? undefined : checkCount(o.instances, "options.instances");
  if (!isPlatformWorker(script) && typeof script !== "string" && !(script instanceof URL)) {
    throw new TypeError(`script must be a URL, a string or a Worker, got ${describe(script)}`);
  }
  if (instances === undefined) return spawnRealm(runner, script, name, timeout);
  // A Worker object is one realm already: a pool needs a script it can start N times.
  if (isPlatformWorker(script)) throw new TypeError("options.instances needs script to be a URL or a string, got a Worker");
  const spawns = Array.from({ length: instances }, (_, i) => spawnRealm(runner, script, name === undefined ? undefined : `${name}-${i + 1}`, timeout));
  try {
    return realmPool(await Promise.all(spawns));
  } catch (e) {
    // One instance failed: end the others (also those still starting) before rejecting.
    await Promise.all(spawns.map((spawn) => spawn.then((realm) => realm.terminate(), () => {})));
    throw e;
  }
}

/** One realm of `spawnWorker`, its options checked. */
async function spawnRealm(runner, script, name, timeout) {
  const worker = isPlatformWorker(script) ? script : createPlatformWorker(script, name);
  const named = scriptName(script);
  let announce;
  const announced = new Promise((resolve) => (announce = resolve));
  const link = linkBus(runner.bus, portAdapter(worker, "script"), (data) => {
    if (data?.type === REGISTRY_MESSAGE && Array.isArray(data.workers) && data.workers.length > 0) announce(data);
  });
  let realmRunner;
  let spawned = false;
  const gone = () => {
    link.close();
    if (realmRunner) remoteRunnerGone(runner, realmRunner);
  };
  const terminate = async () => {
    await worker.terminate();
    gone();
  };
  // A realm that fails while loading rejects the spawn at once; one that fails later is
  // reported on the bus and ended (its workers are gone). Either way the error is handled here:
  // an unwatched "error" would crash a Node process, and would reach a page's onerror.
  let failed;
  const failure = new Promise((_, reject) => (failed = reject));
  const nodeStyle = typeof worker.on === "function";
  const onError = (event) => {
    if (typeof event?.preventDefault === "function") event.preventDefault();
    const cause = realmError(event, nodeStyle);
    if (!spawned) {
      failed(new Error(`the worker script ${named} failed to load: ${messageOf(cause)}`, { cause }));
      return;
    }
    reportOnBus(runner.bus, new Error(`the worker script ${named} failed: ${messageOf(cause)}`, { cause }));
    terminate().catch(() => {});
  };
  // Node tells when a thread ends (terminated or crashed); browsers rely on heartbeats.
  if (nodeStyle) {
    worker.on("error", onError);
    worker.on("exit", (code) => {
      if (!spawned) failed(new Error(`the worker script ${named} exited (code ${code}) before announcing its workers`));
      gone();
    });
  } else {
    worker.addEventListener("error", onError);
  }
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the worker script ${named} did not announce its workers within ${timeout} ms`)), timeout);
  });
  try {
    const snapshot = await Promise.race([announced, late, failure]);
    realmRunner = snapshot.runner;
    const workers = snapshot.workers.map((w) => w.name);
    await Promise.race([Promise.all(workers.map((w) => runner.registry.watch(w, resolveOnce()))), late, failure]);
    spawned = true;
    runner.finished.then(() => terminate().catch(() => {}));
    return realmHandle({ runner: realmRunner, workers, worker, terminate });
  } catch (e) {
    spawned = true; // from here on, the realm's errors are only reported
    await terminate().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** What `spawnWorker` resolves with (a realm, or a pool): `await using` calls its `terminate`. */
function realmHandle(handle) {
  return disposable(handle, { async: handle.terminate });
}

/** What `spawnWorker` with `instances` resolves with; `await using` terminates every instance. */
function realmPool(realms) {
  return realmHandle({
    instances: realms,
    workers: [...new Set(realms.flatMap((realm) => realm.workers))],
    runners: realms.map((realm) => realm.runner),
    terminate: async () => {
      await Promise.all(realms.map((realm) => realm.terminate()));
    },
  });
}

/** A registry watcher that only marks readiness (each call makes a distinct handler). */
function resolveOnce() {
  return () => {};
}

function defaultEndpoint() {
  const threads = workerThreads();
  if (threads) {
    if (threads.parentPort) return threads.parentPort;
  } else if (typeof globalThis.postMessage === "function" && typeof globalThis.document === "undefined") {
    return globalThis;
  }
  throw new TypeError("options.endpoint is required outside a Web Worker or worker thread");
}

/**
 * In a worker realm: serves `workers` to the realm that started it (or to `options.endpoint`).
 * Resolves with the started runner; the links close when it finishes.
 */
export async function serveWorkers(workers, options) {
  if (!Array.isArray(workers)) throw new TypeError(`workers must be an array of Workers, got ${describe(workers)}`);
  workers.forEach((w, i) => checkWorker(w, `workers[${i}]`));
  const o = checkOptions(options, "options");
  if (o.endpoint !== undefined && o.endpoint !== null) portAdapter(o.endpoint, "options.endpoint");
  const bus = new MessagePortBus(o.endpoint ?? defaultEndpoint());
  const runner = new WorkerRunner({ name: o.name, bus, heartbeatInterval: o.heartbeatInterval, heartbeatMisses: o.heartbeatMisses });
  await runner.addWorkers(...workers);
  await runner.start({ autoEnd: false });
  // Let the goodbye leave before the links close.
  runner.finished.then(() => setTimeout(() => bus.close(), 0));
  return runner;
}
