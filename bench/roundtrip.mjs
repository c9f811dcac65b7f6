// Benchmark 1: in-process job round trip (request -> handler -> response -> awaited result),
// sequential, one job in flight, worker "a" asking worker "b" — the same shape as Pipecat's
// `async with self.job("b", ...)` between two workers on one runner (bench/pipecat_roundtrip.py).
//
//   node bench/roundtrip.mjs --impl workbus|baseline [--n 20000] [--warmup 5000] [--idle 0]
//
// --impl baseline is a plain-promise implementation of the same hops (MiniBus below), the
// floor any JavaScript job system pays. --idle K adds K idle workers to the runner (workbus
// routes a targeted message straight to its target, so the cost should not grow with K).
import { args, loadWorkbus, measureEcho, report } from "./lib/common.mjs";

const opt = args({ impl: "workbus", n: 20000, warmup: 5000, idle: 0 });

/**
 * The pure-JavaScript baseline: the same hops as a job on a bus, with nothing else.
 *  1. job(): allocate an id, register the pending promise, queue the request to the target
 *     worker (a microtask: a bus never calls a subscriber inline);
 *  2. the worker's delivery looks up the handler by job name and runs it (awaiting its result,
 *     so async handlers work; a throw answers "error");
 *  3. the response is queued back to the requester (another microtask);
 *  4. the requester's delivery finds the pending entry by id and resolves (or rejects) it.
 */
class MiniBus {
  constructor() {
    this.workers = new Map();
    this.pending = new Map();
    this.nextId = 0;
  }
  addWorker(name, handlers) {
    this.workers.set(name, handlers);
  }
  job(target, { name, payload }) {
    const id = `job-${++this.nextId}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      queueMicrotask(() => this.deliverRequest(target, id, name, payload));
    });
  }
  async deliverRequest(target, id, name, payload) {
    const handler = this.workers.get(target)?.[name];
    let status = "completed";
    let response;
    try {
      response = (await handler({ id, name, payload })) ?? {};
    } catch (error) {
      status = "error";
      response = { error: String(error?.message ?? error) };
    }
    queueMicrotask(() => this.deliverResponse(id, status, response));
  }
  deliverResponse(id, status, response) {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (status === "completed") entry.resolve(response);
    else entry.reject(new Error(response.error));
  }
}

let once;
let finish = async () => {};
if (opt.impl === "baseline") {
  const bus = new MiniBus();
  bus.addWorker("b", { echo: (job) => job.payload });
  for (let i = 0; i < opt.idle; i++) bus.addWorker(`idle-${i}`, {});
  once = (i) => bus.job("b", { name: "echo", payload: { i } });
} else if (opt.impl === "workbus") {
  const { Worker, WorkerRunner } = await loadWorkbus();
  const b = new Worker("b").onJob("echo", (job) => job.payload);
  const a = new Worker("a");
  const idle = Array.from({ length: opt.idle }, (_, i) => new Worker(`idle-${i}`));
  const runner = new WorkerRunner();
  await runner.addWorkers(a, b, ...idle);
  await runner.start();
  once = (i) => a.job("b", { name: "echo", payload: { i } });
  finish = () => runner.end();
} else {
  throw new TypeError(`unknown --impl ${opt.impl}`);
}

// measureEcho checks first that the handler's answer comes back.
const result = await measureEcho(once, opt, finish);
report({ impl: opt.impl, idle: opt.idle, n: opt.n, ...result });
