// Profile for benchmark 6 (memory per pending job): which JS objects N pending jobs hold.
// Takes a heap snapshot with and without N pending jobs and prints the difference per
// constructor (count and bytes per job), largest first.
//   node --expose-gc bench/memory-profile.mjs [--n 5000] [--top 15]
import { getHeapSnapshot } from "node:v8";
import { args, loadWorkbus, macrotask, report, settleGc } from "./lib/common.mjs";

const opt = args({ n: 5000, top: 15 });

async function snapshotByClass() {
  await settleGc();
  const chunks = [];
  for await (const c of getHeapSnapshot()) chunks.push(c);
  const snap = JSON.parse(Buffer.concat(chunks.map((c) => Buffer.from(c))).toString("utf8"));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((k) => f.indexOf(k));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + iType]];
    let name = snap.strings[snap.nodes[i + iName]];
    if (type === "closure") name = `closure ${name || "(anonymous)"}`;
    else if (type !== "object") name = `(${type})`;
    const e = out.get(name) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + iSize];
    out.set(name, e);
  }
  return out;
}

const { Worker, WorkerRunner } = await loadWorkbus();
const held = [];
const hold = new Worker("hold").onJob("hold", () => new Promise((resolve) => held.push(resolve)));
const a = new Worker("a");
const runner = new WorkerRunner();
await runner.addWorkers(a, hold);
await runner.start();
const round = async () => {
  const jobs = [];
  for (let i = 0; i < opt.n; i++) jobs.push(a.job("hold", { name: "hold", payload: { i } }));
  while (held.length < opt.n) await macrotask();
  return jobs;
};
const warm = await round();
for (const r of held.splice(0)) r({});
await Promise.all(warm);
const before = await snapshotByClass();
const jobs = await round();
const during = await snapshotByClass();
const rows = [];
for (const [name, d] of during) {
  const b = before.get(name) ?? { count: 0, bytes: 0 };
  const bytes = (d.bytes - b.bytes) / opt.n;
  if (Math.abs(bytes) >= 1) rows.push({ name, per_job_count: (d.count - b.count) / opt.n, per_job_bytes: bytes });
}
rows.sort((x, y) => y.per_job_bytes - x.per_job_bytes);
for (const r of held.splice(0)) r({});
await Promise.all(jobs);
await runner.end();
report({ n: opt.n, total_per_job: rows.reduce((s, r) => s + r.per_job_bytes, 0), rows: rows.slice(0, opt.top) });
