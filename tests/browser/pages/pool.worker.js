// One instance of the pool of pools.test.mjs: a module Web Worker named "cpu-<i>" by
// spawnWorker(runner, script, { instances, name: "cpu" }). Every instance serves:
//   cpu            answers which instance ran it ({ runner, attempt, n: payload.n });
//                  payload.crash: on its first attempt, closes this Web Worker (no goodbye:
//                  the page notices the missing heartbeats) before answering;
//                  payload.fail: throws; payload.hold: waits for "release" before answering
//   stats-cpu-<i>  "runs": every cpu run of this instance ({ jobId, attempt, n });
//                  "release": answers every held cpu job
// Import maps do not apply inside workers: the package is imported by its path.
import init, { Worker, serveWorkers } from "/workbus/index.js";

await init();

const runnerName = `runner-${self.name}`;
const runs = [];
const held = [];

const cpu = new Worker("cpu").onJob(async (job) => {
  const p = job.payload ?? {};
  runs.push({ jobId: job.id, attempt: job.attempt, n: p.n });
  if (p.crash && job.attempt === 1) {
    self.close();
    return new Promise(() => {}); // never answers: this realm is gone
  }
  if (p.fail) throw new Error(`refused on ${runnerName}`);
  if (p.hold) await new Promise((resolve) => held.push(resolve));
  return { runner: runnerName, attempt: job.attempt, n: p.n };
});

const stats = new Worker(`stats-${self.name}`)
  .onJob("runs", () => runs)
  .onJob("release", () => {
    const count = held.length;
    held.splice(0).forEach((resolve) => resolve());
    return { released: count };
  });

await serveWorkers([cpu, stats], { name: runnerName, heartbeatInterval: 50, heartbeatMisses: 3 });
