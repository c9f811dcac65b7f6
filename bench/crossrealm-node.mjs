// Benchmark 5 (Node): a job round trip between the main thread and a worker_threads worker.
//   node bench/crossrealm-node.mjs --impl raw|comlink|workbus [--n 20000] [--warmup 5000]
// raw: postMessage({ id, payload }) -> the worker posts { id, response } back -> the pending
//   promise for that id resolves (the floor: two structured clones, two message events).
// comlink: `await api.echo(payload)` through Comlink's Node adapter.
// workbus: a runner on the main thread spawns the worker thread with spawnWorker(), which
//   serves worker "echo" with serveWorkers(); jobs go out with runner.job("echo", ...).
//   Prints { pending: true } while the package has no MessagePortBus.
import { Worker as ThreadWorker } from "node:worker_threads";
import { args, echoPayload as payload, loadWorkbus, measureEcho, report, spawnEchoRealm } from "./lib/common.mjs";

const opt = args({ impl: "raw", n: 20000, warmup: 5000 });
const workerUrl = new URL("./realm/node-worker.mjs", import.meta.url);
let once;
let finish = async () => {};

if (opt.impl === "raw") {
  const thread = new ThreadWorker(workerUrl, { workerData: { impl: "raw" } });
  const pending = new Map();
  let next = 0;
  thread.on("message", ({ id, response }) => {
    const resolve = pending.get(id);
    pending.delete(id);
    resolve(response);
  });
  once = (i) => new Promise((resolve) => {
    const id = ++next;
    pending.set(id, resolve);
    thread.postMessage({ id, payload: payload(i) });
  });
  finish = () => thread.terminate();
} else if (opt.impl === "comlink") {
  const Comlink = await import("comlink");
  const nodeEndpoint = (await import("comlink/dist/esm/node-adapter.mjs")).default;
  const thread = new ThreadWorker(workerUrl, { workerData: { impl: "comlink" } });
  const api = Comlink.wrap(nodeEndpoint(thread));
  once = (i) => api.echo(payload(i));
  finish = async () => {
    api[Comlink.releaseProxy]();
    await thread.terminate();
  };
} else if (opt.impl === "workbus") {
  const wb = await loadWorkbus();
  if (!("MessagePortBus" in wb) || typeof wb.spawnWorker !== "function") {
    report({ impl: "workbus", pending: true });
    process.exit(0);
  }
  // >>> workbus cross-realm slot (main thread side)
  const runner = new wb.WorkerRunner();
  const thread = new ThreadWorker(workerUrl, { workerData: { impl: "workbus", workbusEntry: process.env.BENCH_WORKBUS } });
  ({ once, finish } = await spawnEchoRealm(wb, runner, thread));
  // <<<
} else {
  throw new TypeError(`unknown --impl ${opt.impl}`);
}

const result = await measureEcho(once, opt, finish);
report({ impl: opt.impl, n: opt.n, ...result });
