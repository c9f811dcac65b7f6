// Soak run: N jobs (default 1,000,000) with random failures, cancels and timeouts on one runner
// in Node, at bounded concurrency. Run it through scripts/soak (which passes --expose-gc):
//
//   node --expose-gc tests/soak/soak.mjs [N] [--concurrency 200] [--seed 1] [--max-growth-mb 5] [--json]
//
// Workers w0..w3 each pick a behaviour from the job's payload: complete, throw, reject, slow
// (a timer, stops when its signal aborts), hang (never settles, ignores its signal; always sent
// with a timeout), stream (updates and a stream). Requesters r0..r3 send single jobs and small
// groups (2-3 members, one of which may fail), and at random cancel them (ctx.cancel, or an
// AbortSignal) or give them a deadline. Every context's outcome is counted by error class and
// reason, and checked against the outcomes its plan allows.
//
// Fails (exit 1) when: a context does not settle within HANG_MS of its request (a hung job), an
// outcome is not one its plan allows, the workers or requesters keep state after the run
// (activeJobs, jobGroups), a listener error or an unhandled rejection occurs, or heap + external
// memory after GC at 50 % or 100 % of the run exceeds the 10 % sample by more than the bound.
import { JobError, JobGroupError, Worker, WorkerRunner, setLogger } from "workbus";

// ----- options ---------------------------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--json") continue;
  if (args[i].startsWith("--")) i++; // an option and its value
  else positional.push(args[i]);
}
const N = Number(String(positional[0] ?? "1000000").replace(/[_,]/g, ""));
const CONCURRENCY = Number(opt("concurrency", 200));
const SEED = Number(opt("seed", 1));
const MAX_GROWTH_MB = Number(opt("max-growth-mb", 5));
const JSON_OUT = args.includes("--json");
const HANG_MS = 10_000; // a context not settled this long after its request is hung
if (!Number.isInteger(N) || N < 100) throw new Error(`N must be an integer >= 100, got ${positional[0]}`);
if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc (scripts/soak does)");

// ----- a seeded PRNG (mulberry32), so a run can be repeated ------------------------------------
let state = SEED >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
function weighted(table) {
  let x = random() * table.reduce((s, [, w]) => s + w, 0);
  for (const [value, w] of table) if ((x -= w) < 0) return value;
  return table[table.length - 1][0];
}

// ----- the workers -----------------------------------------------------------------------------
const WORKERS = ["w0", "w1", "w2", "w3"];
const REQUESTERS = ["r0", "r1", "r2", "r3"];

function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const handled = { jobs: 0, aborted: 0 };
function makeWorker(name) {
  return new Worker(name).onJob(async (job) => {
    handled.jobs++;
    const p = job.payload;
    const kind = p.failOn === name ? p.failKind : p.kind;
    switch (kind) {
      case "complete":
        return { ok: name, i: p.i };
      case "throw":
        throw new Error(`soak failure ${p.i}`);
      case "reject":
        await Promise.resolve();
        return Promise.reject(new Error(`soak rejection ${p.i}`));
      case "slow":
        if (!(await pause(p.delay, job.signal))) {
          handled.aborted++;
          return;
        }
        return { slept: p.delay };
      case "hang":
        return new Promise(() => {}); // never settles, ignores its signal
      case "stream": {
        await job.update({ percent: 50 });
        await job.streamStart({ parts: 3 });
        for (let k = 0; k < 3; k++) {
          if (job.signal.aborted) return;
          await job.streamData(k);
        }
        await job.streamEnd({ parts: 3, by: name });
        return;
      }
      default:
        throw new Error(`unknown kind ${kind}`);
    }
  });
}

// ----- plans and outcomes ----------------------------------------------------------------------
const KINDS = [
  ["complete", 35],
  ["stream", 15],
  ["slow", 15],
  ["throw", 10],
  ["reject", 10],
  ["hang", 5],
];

/** A random job: what is sent and which outcomes are acceptable. */
function plan(i) {
  const group = random() < 0.15;
  const targets = group ? shuffle(WORKERS).slice(0, randInt(2, 3)) : [pick(WORKERS)];
  const kind = weighted(KINDS);
  const payload = { i, kind };
  if (kind === "slow") payload.delay = randInt(1, 20);
  let failOn = null;
  if (group && kind !== "hang" && random() < 0.2) {
    failOn = pick(targets);
    payload.failOn = failOn;
    payload.failKind = random() < 0.5 ? "throw" : "reject";
  }
  const allowed = new Set();
  const Class = group ? "JobGroupError" : "JobError";
  if (kind === "throw" || kind === "reject") {
    for (const w of targets) allowed.add(`${Class}: worker '${w}' errored`);
  } else if (failOn) {
    allowed.add(`${Class}: worker '${failOn}' errored`);
  } else if (kind !== "hang") {
    allowed.add("completed");
  }
  let timeout;
  if (kind === "hang") timeout = randInt(2, 30);
  else if (random() < 0.05) timeout = randInt(1, 15);
  if (timeout !== undefined) allowed.add(`${Class}: timeout`);
  let cancel = null;
  const c = random();
  if (c < 0.05) cancel = { how: "ctx", after: randInt(0, 10), reason: "soak cancel" };
  else if (c < 0.08) cancel = { how: "signal", after: randInt(0, 10), reason: "soak abort" };
  else if (c < 0.09) cancel = { how: "signal", after: randInt(0, 10), reason: undefined }; // "cancelled"
  else if (c < 0.1) cancel = { how: "ctx-now", after: 0, reason: "soak cancel now" }; // before the send
  if (cancel) allowed.add(`${Class}: ${cancel.reason ?? "cancelled"}`);
  return { i, group, targets, kind, payload, timeout, cancel, iterate: kind === "stream" || random() < 0.1, allowed };
}

function shuffle(list) {
  const a = [...list];
  for (let k = a.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [a[k], a[j]] = [a[j], a[k]];
  }
  return a;
}

const outcomes = new Map();
const unexpected = [];
const hung = [];
let events = 0;
let settledCount = 0;
const count = (key) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

function describeError(e) {
  if (e instanceof JobGroupError) return `JobGroupError: ${e.reason}`;
  if (e instanceof JobError) return `JobError: ${e.reason}`;
  return `${e?.name ?? typeof e}: ${e?.message ?? String(e)}`;
}

/** Runs one planned job from `requester`; resolves with its outcome key (never rejects). */
async function runJob(requester, p) {
  const params = { payload: p.payload };
  if (p.timeout !== undefined) params.timeout = p.timeout;
  let controller;
  if (p.cancel?.how === "signal") {
    controller = new AbortController();
    params.signal = controller.signal;
  }
  const ctx = p.group ? requester.jobGroup(p.targets, params) : requester.job(p.targets[0], params);
  let timer;
  if (p.cancel) {
    const fire = () => (p.cancel.how === "signal" ? controller.abort(p.cancel.reason) : ctx.cancel(p.cancel.reason));
    if (p.cancel.how === "ctx-now") fire();
    else timer = setTimeout(fire, p.cancel.after);
  }
  try {
    if (p.iterate) for await (const _ of ctx) events++;
    await ctx;
    return "completed";
  } catch (e) {
    return describeError(e);
  } finally {
    clearTimeout(timer);
  }
}

// ----- memory ----------------------------------------------------------------------------------
const MB = 1024 * 1024;
async function sampleMemory(label) {
  for (let k = 0; k < 4; k++) {
    await new Promise((r) => setImmediate(r));
    globalThis.gc();
  }
  const m = process.memoryUsage();
  return { label, heapUsed: m.heapUsed, external: m.external, total: m.heapUsed + m.external, rss: m.rss };
}

// ----- the run ---------------------------------------------------------------------------------
const logged = [];
setLogger((level, message) => {
  // Debug lines are expected: handlers of aborted jobs that throw (how a handler stops).
  if (level === "debug") return;
  if (logged.length < 20) logged.push(`${level}: ${message.slice(0, 300)}`);
  else logged.length++;
});
const unhandled = [];
process.on("unhandledRejection", (reason) => unhandled.push(String(reason?.stack ?? reason)));

const workers = WORKERS.map(makeWorker);
const requesters = REQUESTERS.map((name) => new Worker(name));
const runner = new WorkerRunner({ name: "soak" });
const runnerErrors = [];
runner.on("error", (e) => runnerErrors.push(String(e?.message ?? e)));
await runner.addWorkers(...workers, ...requesters);
await runner.start({ autoEnd: false });

const memory = [];
const checkpoints = [Math.floor(N * 0.1), Math.floor(N * 0.5)];
let next = 0;
let sampling = null; // a memory sample in progress: lanes wait for it
const inflight = new Map(); // lane -> { i, t0, abandon }

async function lane(id) {
  for (;;) {
    if (sampling) await sampling;
    if (next >= N) return;
    const i = next++;
    if (checkpoints.includes(i) && !sampling) {
      // Let the in-flight jobs run down to a steady level, then sample with the lanes paused.
      sampling = (async () => {
        const label = `${Math.round((i / N) * 100)} %`;
        memory.push(await sampleMemory(label));
        progress(i);
      })();
      await sampling;
      sampling = null;
    }
    const requester = requesters[id % requesters.length];
    const p = plan(i);
    let abandon;
    const abandoned = new Promise((r) => (abandon = r));
    inflight.set(id, { i, t0: Date.now(), abandon, p });
    const outcome = await Promise.race([runJob(requester, p), abandoned]);
    inflight.delete(id);
    if (outcome === HUNG) {
      hung.push({ i, plan: summarizePlan(p) });
      continue;
    }
    settledCount++;
    count(outcome);
    if (!p.allowed.has(outcome) && unexpected.length < 20) unexpected.push({ i, outcome, plan: summarizePlan(p) });
    else if (!p.allowed.has(outcome)) unexpected.length++;
  }
}
const HUNG = Symbol("hung");
const summarizePlan = (p) => ({ targets: p.targets, kind: p.kind, payload: p.payload, timeout: p.timeout, cancel: p.cancel, allowed: [...p.allowed] });

const watchdog = setInterval(() => {
  const now = Date.now();
  for (const job of inflight.values()) if (now - job.t0 > HANG_MS) job.abandon(HUNG);
}, 1000);

const t0 = performance.now();
let lastProgress = t0;
function progress(i) {
  if (JSON_OUT) return;
  const now = performance.now();
  const rate = i / ((now - t0) / 1000);
  process.stderr.write(`soak: ${i.toLocaleString("en")} / ${N.toLocaleString("en")} jobs, ${Math.round(rate).toLocaleString("en")} jobs/s\n`);
  lastProgress = now;
}
const ticker = setInterval(() => progress(next), 10_000);

await Promise.all(Array.from({ length: CONCURRENCY }, (_, id) => lane(id)));
const elapsed = (performance.now() - t0) / 1000;
clearInterval(ticker);
clearInterval(watchdog);

// Every handler the run started has had its answer or its abort; let the last aborts land.
const settleDeadline = Date.now() + 5000;
while (Date.now() < settleDeadline && (workers.some((w) => w.activeJobs.size > 0) || requesters.some((r) => r.jobGroups.size > 0))) {
  await new Promise((r) => setTimeout(r, 10));
}
memory.push(await sampleMemory("100 %"));
const leftovers = {
  activeJobs: Object.fromEntries(workers.map((w) => [w.name, w.activeJobs.size])),
  jobGroups: Object.fromEntries(requesters.map((r) => [r.name, r.jobGroups.size])),
};
await runner.end({ gracePeriod: 1000 });

// ----- verdict ---------------------------------------------------------------------------------
const base = memory[0].total;
const growth = Math.max(...memory.map((m) => m.total)) - base;
const failures = [];
if (settledCount + hung.length !== N) failures.push(`${N - settledCount - hung.length} jobs unaccounted for`);
if (hung.length) failures.push(`${hung.length} hung job(s) (not settled within ${HANG_MS} ms)`);
if (unexpected.length) failures.push(`${unexpected.length} unexpected outcome(s)`);
if (Object.values(leftovers.activeJobs).some(Boolean)) failures.push(`workers keep active jobs: ${JSON.stringify(leftovers.activeJobs)}`);
if (Object.values(leftovers.jobGroups).some(Boolean)) failures.push(`requesters keep job groups: ${JSON.stringify(leftovers.jobGroups)}`);
if (unhandled.length) failures.push(`${unhandled.length} unhandled rejection(s)`);
if (runnerErrors.length) failures.push(`${runnerErrors.length} runner error(s)`);
if (logged.length) failures.push(`${logged.length} log line(s) from workbus`);
if (growth > MAX_GROWTH_MB * MB) failures.push(`memory grew by ${(growth / MB).toFixed(2)} MB (bound ${MAX_GROWTH_MB} MB)`);

const summary = {
  jobs: N,
  seed: SEED,
  concurrency: CONCURRENCY,
  seconds: Number(elapsed.toFixed(1)),
  jobsPerSecond: Math.round(N / elapsed),
  settled: settledCount,
  hung: hung.length,
  handlerRuns: handled.jobs,
  handlersAborted: handled.aborted,
  eventsIterated: events,
  outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
  memoryMB: memory.map((m) => ({
    at: m.label,
    heapUsed: Number((m.heapUsed / MB).toFixed(2)),
    external: Number((m.external / MB).toFixed(2)),
    total: Number((m.total / MB).toFixed(2)),
    rss: Number((m.rss / MB).toFixed(1)),
  })),
  memoryGrowthMB: Number((growth / MB).toFixed(2)),
  node: process.version,
  failures,
  details: { hung: hung.slice(0, 5), unexpected: unexpected.slice(0, 10), unhandled: unhandled.slice(0, 5), runnerErrors: runnerErrors.slice(0, 5), logged: logged.slice(0, 10) },
};

if (JSON_OUT) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const fmt = (n) => n.toLocaleString("en");
  console.log(`soak: ${fmt(N)} jobs in ${summary.seconds} s (${fmt(summary.jobsPerSecond)} jobs/s), concurrency ${CONCURRENCY}, seed ${SEED}, Node ${process.version}`);
  console.log(`soak: settled ${fmt(settledCount)}, hung ${hung.length}; handler runs ${fmt(handled.jobs)} (${fmt(handled.aborted)} aborted), events iterated ${fmt(events)}`);
  console.log("soak: outcomes");
  for (const [k, v] of Object.entries(summary.outcomes)) console.log(`  ${String(v).padStart(9)}  ${k}`);
  console.log("soak: memory after GC (MB)      heapUsed  external   total     rss");
  for (const m of summary.memoryMB) {
    console.log(`  at ${m.at.padEnd(26)} ${m.heapUsed.toFixed(2).padStart(8)} ${m.external.toFixed(2).padStart(9)} ${m.total.toFixed(2).padStart(7)} ${m.rss.toFixed(1).padStart(7)}`);
  }
  console.log(`soak: memory growth ${summary.memoryGrowthMB} MB (bound ${MAX_GROWTH_MB} MB)`);
  if (failures.length) {
    console.log(`soak: FAILED\n  - ${failures.join("\n  - ")}`);
    console.log(JSON.stringify(summary.details, null, 2));
  } else {
    console.log("soak: ok");
  }
}
process.exitCode = failures.length ? 1 : 0;
