// The worker-thread script of pools.test.mjs (a worker script, not a test file): one instance of
// a pool started by spawnWorker(runner, script, { instances }). Every instance serves:
//   cpu            default: busy-waits payload.busyMs (default 0) ms, then answers which instance
//                  ran it ({ runner, threadId, attempt, n: payload.n }); payload.crash: on its
//                  first attempt, ends this thread (process.exit) before answering;
//                  payload.fail: throws; payload.hold: waits for "release" before answering
//   stats-<thread> "runs": every cpu run of this instance ({ jobId, attempt, n }), in order;
//                  "release": answers every held cpu job
// The stats worker has a name of its own per instance, so the test can ask each instance.
import { isMainThread, threadId } from "node:worker_threads";
import { Worker, serveWorkers } from "workbus";

if (isMainThread) throw new Error("pool.worker.mjs runs in a worker thread");

const runnerName = `cpu-thread-${threadId}`;
const runs = [];
const held = [];

const cpu = new Worker("cpu").onJob(async (job) => {
  const p = job.payload ?? {};
  runs.push({ jobId: job.id, attempt: job.attempt, n: p.n });
  if (p.crash && job.attempt === 1) process.exit(1);
  if (p.fail) throw new Error(`refused on ${runnerName}`);
  if (p.hold) await new Promise((resolve) => held.push(resolve));
  const end = Date.now() + (p.busyMs ?? 0);
  while (Date.now() < end) {
    // CPU-bound work: this thread does nothing else meanwhile
  }
  return { runner: runnerName, threadId, attempt: job.attempt, n: p.n };
});

const stats = new Worker(`stats-${threadId}`)
  .onJob("runs", () => runs)
  .onJob("release", () => {
    const count = held.length;
    held.splice(0).forEach((resolve) => resolve());
    return { released: count };
  });

await serveWorkers([cpu, stats], { name: runnerName });
