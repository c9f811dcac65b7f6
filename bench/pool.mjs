// Benchmark 9: throughput of CPU-bound jobs over a pool of worker threads.
//   node bench/pool.mjs --impl workbus|piscina [--instances 1] [--jobs 400] [--rounds 1250] [--warmup 40]
// Each job is the same fixed work (bench/realm/pool-work.mjs: a chain of SHA-256 hashes, ~2 ms).
// workbus: spawnWorker(runner, script, { instances }) starts the pool; every job is
//   runner.job("cpu", …), all requested at once, and the engine spreads them over the instances.
// piscina: a Piscina pool of exactly `instances` threads; every job is pool.run(…), all at once.
// The pool is started and warmed up (every thread has run jobs) before the clock starts; the
// figure is jobs/s from the first request to the last answer.
import { performance } from "node:perf_hooks";
import { args, loadWorkbus, report } from "./lib/common.mjs";
import { work } from "./realm/pool-work.mjs";

const opt = args({ impl: "workbus", instances: 1, jobs: 400, rounds: 1250, warmup: 40 });
const task = (i) => ({ seed: i, rounds: opt.rounds });

let run;
let finish;
if (opt.impl === "workbus") {
  const wb = await loadWorkbus();
  const runner = new wb.WorkerRunner();
  await runner.start();
  const pool = await wb.spawnWorker(runner, new URL("./realm/pool-workbus.mjs", import.meta.url), { instances: opt.instances });
  run = (i) => runner.job("cpu", { payload: task(i) });
  finish = async () => {
    await pool.terminate();
    await runner.end();
  };
} else if (opt.impl === "piscina") {
  const { Piscina } = await import("piscina");
  const pool = new Piscina({
    filename: new URL("./realm/pool-piscina.mjs", import.meta.url).href,
    minThreads: opt.instances,
    maxThreads: opt.instances,
  });
  run = (i) => pool.run(task(i));
  finish = () => pool.destroy();
} else {
  throw new TypeError(`unknown --impl ${opt.impl}`);
}

const all = (from, n) => Promise.all(Array.from({ length: n }, (_, i) => run(from + i)));
const expected = work(0, opt.rounds);
const [first] = await all(0, Math.max(opt.warmup, 4 * opt.instances));
if (first !== expected) throw new Error(`${opt.impl}: wrong answer ${first}`);

// The work of one job alone, in the main thread (mean of 20, warm), for scale.
for (let i = 0; i < 5; i++) work(i, opt.rounds);
const alone = performance.now();
for (let i = 0; i < 20; i++) work(i, opt.rounds);
const workMs = (performance.now() - alone) / 20;

const start = performance.now();
const answers = await all(0, opt.jobs);
const ms = performance.now() - start;
if (answers[0] !== expected || answers.length !== opt.jobs) throw new Error(`${opt.impl}: wrong answers`);
await finish();
report({ impl: opt.impl, instances: opt.instances, jobs: opt.jobs, ms, jobs_per_s: (opt.jobs / ms) * 1000, work_ms: workMs });
