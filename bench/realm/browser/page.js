// The page side of bench/crossrealm-browser.mjs: ?impl=raw|comlink|workbus|count|load&n=&warmup=
// Publishes { result } or { error } on window.__bench.
import { echoPayload as payload, measureEcho, spawnEchoRealm } from "../../lib/latency.mjs";

const params = new URLSearchParams(location.search);
const impl = params.get("impl");
const n = Number(params.get("n") ?? 20000);
const warmup = Number(params.get("warmup") ?? 5000);

async function main() {
  const workerUrl = new URL(`worker.js?impl=${impl}`, location.href);
  if (impl === "load") {
    // Benchmark 7 in the browser: download + compile + instantiate the package's ESM entry.
    const t0 = performance.now();
    const wb = await import("/pkg/web/index.js");
    const t1 = performance.now();
    await wb.default();
    const t2 = performance.now();
    return { impl, import_ms: t1 - t0, init_ms: t2 - t1, load_ms: t2 - t0 };
  }
  let once;
  let finish = () => {};
  if (impl === "raw") {
    const worker = new Worker(workerUrl, { type: "module" });
    const pending = new Map();
    let next = 0;
    worker.onmessage = ({ data }) => {
      const resolve = pending.get(data.id);
      pending.delete(data.id);
      resolve(data.response);
    };
    once = (i) => new Promise((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      worker.postMessage({ id, payload: payload(i) });
    });
    finish = () => worker.terminate();
  } else if (impl === "comlink") {
    const Comlink = await import("/bench/node_modules/comlink/dist/esm/comlink.mjs");
    const worker = new Worker(workerUrl, { type: "module" });
    await new Promise((resolve) => worker.addEventListener("message", resolve, { once: true }));
    const api = Comlink.wrap(worker);
    once = (i) => api.echo(payload(i));
    finish = () => worker.terminate();
  } else if (impl === "workbus") {
    const wb = await import("/pkg/web/index.js");
    await wb.default();
    if (!("MessagePortBus" in wb) || typeof wb.spawnWorker !== "function") return { impl, pending: true };
    // >>> workbus cross-realm slot (page side): the runner spawns the Web Worker that serves "echo".
    const runner = new wb.WorkerRunner({ name: "page" });
    ({ once, finish } = await spawnEchoRealm(wb, runner, workerUrl));
    // <<<
  } else if (impl === "count") {
    // Not a timing: what one workbus job costs on each side (see count-hooks.js).
    const { installCounters, resetCounters, countsPerJob } = await import("./count-hooks.js");
    installCounters(window, Worker.prototype);
    const wb = await import("/pkg/web/index.js");
    await wb.default();
    const runner = new wb.WorkerRunner({ name: "page" });
    ({ once, finish } = await spawnEchoRealm(wb, runner, workerUrl));
    for (let i = 0; i < warmup; i++) await once(i);
    await runner.job("counts", { name: "reset" });
    resetCounters();
    for (let i = 0; i < n; i++) await once(i);
    const page = countsPerJob(n);
    const worker = await runner.job("counts", { name: "take", payload: { jobs: n } });
    await finish();
    return { impl, n, page, worker };
  } else {
    throw new Error(`unknown impl ${impl}`);
  }
  const result = await measureEcho(once, { n, warmup }, finish);
  return { impl, n, ...result };
}

main().then(
  (result) => (window.__bench = { result }),
  (error) => (window.__bench = { error: String(error?.stack ?? error) }),
);
