// Benchmark 3: job group fan-out 1 -> N. Worker "a" sends one job group to N workers whose
// handlers answer with the payload, and awaits every response.
//
//   node --expose-gc bench/fanout.mjs --n 100 [--groups 200] [--warmup 20]
//
// time: median wall time of one whole group (request -> N handlers -> N responses -> awaited),
// and that divided by N. memory: with every member's handler held open (a promise released
// later), (heap + external after GC with `holds` groups pending - the same before) / (holds * N):
// the requester's group, contexts and per-member job state, and each member's active job.
import { args, loadWorkbus, memory, quantile, report, settleGc } from "./lib/common.mjs";
const { Worker, WorkerRunner } = await loadWorkbus();

const opt = args({ n: 100, groups: 0, warmup: 0, holds: 0 });
const N = opt.n;
const groups = opt.groups || Math.max(20, Math.min(2000, Math.round(20000 / N)));
const warmup = opt.warmup || Math.max(5, Math.round(groups / 5));
const holds = opt.holds || Math.max(1, Math.round(2000 / N)); // about 2000 pending members

let hold = false;
const held = [];
const names = Array.from({ length: N }, (_, i) => `m-${i}`);
const members = names.map((name) =>
  new Worker(name).onJob("echo", (job) => (hold ? new Promise((resolve) => held.push(() => resolve(job.payload))) : job.payload)),
);
const a = new Worker("a");
const runner = new WorkerRunner();
await runner.addWorkers(a, ...members);
await runner.start();

const once = () => a.jobGroup(names, { name: "echo", payload: { x: 1 } });
const first = await once();
if (Object.keys(first).length !== N) throw new Error(`expected ${N} responses`);

for (let i = 0; i < warmup; i++) await once();
const times = [];
const t0 = performance.now();
for (let i = 0; i < groups; i++) {
  const s = performance.now();
  await once();
  times.push((performance.now() - s) * 1000);
}
const totalMs = performance.now() - t0;
const groupUs = quantile(times, 0.5);

// Memory per pending member.
await settleGc();
const before = memory();
hold = true;
const pending = [];
for (let i = 0; i < holds; i++) pending.push(once());
while (held.length < holds * N) await new Promise((r) => setImmediate(r));
await settleGc();
const during = memory();
hold = false;
for (const release of held.splice(0)) release();
await Promise.all(pending);
await settleGc();
const after = memory();

await runner.end();
report({
  n: N,
  groups,
  group_p50_us: groupUs,
  group_p99_us: quantile(times, 0.99),
  per_member_us: groupUs / N,
  per_member_mean_us: (totalMs * 1000) / groups / N,
  pending_members: holds * N,
  bytes_per_member: (during.total - before.total) / (holds * N),
  heap_per_member: (during.heap - before.heap) / (holds * N),
  external_per_member: (during.external - before.external) / (holds * N),
  residue_bytes: after.total - before.total,
});
