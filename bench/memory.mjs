// Benchmark 6: memory.  Run with node --expose-gc.
//
//   node --expose-gc bench/memory.mjs --mode pending [--n 10000] [--impl workbus|baseline]
//   node --expose-gc bench/memory.mjs --mode million [--jobs 1000000] [--yield-every 0|1000]
//
// pending: worker "hold"'s handler returns a promise kept until released, so N jobs stay
//   pending; per pending job = (heap + external with N pending - the same before) / N, after a
//   full GC each time. Includes everything a pending job holds on both sides (the requester's
//   context and promise, the engine's group and request state, the handler's promise).
// million: heap and external after a full GC before and after `jobs` sequential jobs, and the
//   peak seen at checkpoints (every jobs/10, sampled without GC). wasm-bindgen frees the wasm
//   side of a handle when its JS wrapper is collected, through a FinalizationRegistry whose
//   callbacks only run between macrotasks: a tight loop of awaits never yields to one.
//   --yield-every K yields to the event loop (setImmediate) every K jobs; 0 never does.
import { args, loadWorkbus, macrotask, memory, report, settleGc } from "./lib/common.mjs";

const opt = args({ mode: "pending", n: 10000, impl: "workbus", jobs: 1000000, yieldEvery: 0 });

async function workbusSetup() {
  const { Worker, WorkerRunner } = await loadWorkbus();
  const held = [];
  const hold = new Worker("hold").onJob("hold", () => new Promise((resolve) => held.push(resolve)));
  const echo = new Worker("echo").onJob("echo", (job) => job.payload);
  const a = new Worker("a");
  const runner = new WorkerRunner();
  await runner.addWorkers(a, hold, echo);
  await runner.start();
  return {
    held,
    hold: (i) => a.job("hold", { name: "hold", payload: { i } }),
    echo: (i) => a.job("echo", { name: "echo", payload: { i } }),
    end: () => runner.end(),
  };
}

// The plain-promise bus of bench/roundtrip.mjs, reduced to what this needs.
async function baselineSetup() {
  const held = [];
  const pending = new Map();
  let next = 0;
  const handlers = { hold: () => new Promise((resolve) => held.push(resolve)), echo: (p) => p };
  const job = (name, payload) => {
    const id = `job-${++next}`;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      queueMicrotask(async () => {
        const response = await handlers[name](payload);
        queueMicrotask(() => {
          const e = pending.get(id);
          pending.delete(id);
          e.resolve(response);
        });
      });
    });
  };
  return { held, hold: (i) => job("hold", { i }), echo: (i) => job("echo", { i }), end: async () => {} };
}

const sys = opt.impl === "baseline" ? await baselineSetup() : await workbusSetup();

if (opt.mode === "pending") {
  for (let i = 0; i < 1000; i++) await sys.echo(i); // warm up
  const round = async () => {
    await settleGc();
    const before = memory();
    const jobs = [];
    for (let i = 0; i < opt.n; i++) jobs.push(sys.hold(i));
    while (sys.held.length < opt.n) await macrotask();
    await settleGc();
    const during = memory();
    for (const r of sys.held.splice(0)) r({});
    await Promise.all(jobs);
    jobs.length = 0;
    await settleGc();
    const after = memory();
    return { before, during, after };
  };
  // The wasm linear memory only grows (in 64 KiB pages) and never shrinks, and its allocator
  // reuses freed blocks: the first round shows how much wasm memory N pending jobs need
  // (external), the second the JS heap they hold once pools and memory are at working size.
  const cold = await round();
  const warm = await round();
  await sys.end();
  const heapPerJob = (warm.during.heap - warm.before.heap) / opt.n;
  const wasmPerJob = Math.max(0, cold.during.external - cold.before.external) / opt.n;
  report({
    mode: "pending", impl: opt.impl, n: opt.n,
    bytes_per_job: heapPerJob + wasmPerJob,
    heap_per_job: heapPerJob,
    external_per_job: wasmPerJob,
    external_warm_per_job: (warm.during.external - warm.before.external) / opt.n,
    after_release_bytes: warm.after.total - warm.before.total,
  });
} else if (opt.mode === "million") {
  for (let i = 0; i < 10000; i++) await sys.echo(i);
  await settleGc();
  const before = memory();
  let peak = before.total;
  let peakRss = before.rss;
  const checkpoint = Math.max(1, Math.floor(opt.jobs / 10));
  const t0 = performance.now();
  for (let i = 0; i < opt.jobs; i++) {
    await sys.echo(i);
    if (opt.yieldEvery && i % opt.yieldEvery === 0) await macrotask();
    if (i % checkpoint === 0) {
      const m = memory();
      peak = Math.max(peak, m.total);
      peakRss = Math.max(peakRss, m.rss);
    }
  }
  const ms = performance.now() - t0;
  const end = memory();
  peak = Math.max(peak, end.total);
  await settleGc();
  const after = memory();
  await sys.end();
  report({
    mode: "million", impl: opt.impl, jobs: opt.jobs, yield_every: opt.yieldEvery,
    before_heap: before.heap, before_external: before.external,
    after_heap: after.heap, after_external: after.external,
    growth_bytes: after.total - before.total,
    growth_per_job: (after.total - before.total) / opt.jobs,
    peak_over_before: peak - before.total,
    rss_before: before.rss, rss_peak: peakRss, rss_after: after.rss,
    us_per_job: (ms * 1000) / opt.jobs,
  });
} else {
  throw new TypeError(`unknown --mode ${opt.mode}`);
}
