// Faults: what a job's requester sees when something goes wrong, and that the runner keeps
// working afterwards. Faults already asserted elsewhere (not repeated here):
// - a handler that throws: jobs-worker "a throwing handler answers error: JobError "worker 'w'
//   errored" with { error }" (sync and async throws, non-Error values in audit "handlers throwing
//   non-Error values…"), and jobs-worker "the worker keeps working after errors, cancels and
//   missing handlers" (a following job);
// - a handler that rejects: the same jobs-worker test ("async"), audit (Promise.reject), and
//   contexts "the loop throws the job's error after the events received before the failure";
// - a handler that never settles, ended by the job's timeout: jobs-requester "job timeout: a
//   handler that never settles rejects 'timeout' and its signal aborts" (the case of a handler
//   that also ignores its signal, followed by more jobs and an end(), is below);
// - a listener that throws: bus "a listener that throws never stops delivery" (jobUpdate,
//   busMessage, jobRequest) and registry "watcher errors are logged, never thrown" (every other
//   event is below);
// - a worker stopped mid-job: workers "worker.stop() aborts a handler that outlives the grace
//   period; the requester gets 'stopped'" and "worker.stop() stops just that worker; jobs sent to
//   it afterwards fail…", jobs-requester "a group member that stops mid-job…", multi-runner "a
//   runner going away fails the jobs its workers were handling for others";
// - a Web Worker terminated mid-job: realms "a thread terminated mid-job (worker.terminate())…"
//   and "realm.terminate() fails pending jobs at once" (Node worker threads), tests/browser
//   realms "a Web Worker terminated mid-job…" (Chromium);
// - Redis dropping the connection and coming back: tests/interop/redis-outage.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner, JobError, JobGroupError, setLogger } from "workbus";
import { T, sleep, quietFor, within, startRunner, startPair, catchError, waitFor, deferred, isSettled, drain, trackUnhandledRejections } from "./helpers.mjs";

const WORKER_EVENTS = [
  "activated", "deactivated", "finished", "workerReady", "workerFailed", "jobRequest", "jobResponse",
  "jobUpdate", "jobUpdateRequested", "jobError", "jobStreamStart", "jobStreamData", "jobStreamEnd",
  "jobCancelled", "busMessage", "jobCompleted",
];

/** Routes workbus's log lines into an array for the rest of the test. */
function captureLog(t) {
  const lines = [];
  setLogger((level, message) => lines.push({ level, message }));
  t.after(() => setLogger(null));
  return lines;
}

/** `{ status: "fulfilled", value }` or `{ status: "rejected", reason }` for each context, within `ms`. */
const settleAll = (contexts, ms, what) => within(Promise.allSettled(contexts), ms, what);

// ----- runner.cancel() during a burst ------------------------------------------------------------

test("runner.cancel() in the middle of a burst of 2000 jobs from several requesters: every context settles with 'runner exiting' or 'worker '<w>' stopped'", T, async (t) => {
  const unhandled = trackUnhandledRejections(t);
  const WORKERS = ["w0", "w1", "w2"];
  const REQUESTERS = ["r0", "r1", "r2"];
  const running = [];
  // w0 blocks until its signal aborts, w1 ignores its signal and never settles, w2 streams slowly.
  const workers = [
    new Worker("w0").onJob((job) => {
      running.push(job);
      return new Promise((resolve) => job.signal.addEventListener("abort", resolve, { once: true }));
    }),
    new Worker("w1").onJob((job) => {
      running.push(job);
      return new Promise(() => {});
    }),
    new Worker("w2").onJob(async (job) => {
      running.push(job);
      await job.streamStart();
      while (!job.signal.aborted) {
        await job.streamData(job.payload);
        await sleep(5);
      }
    }),
  ];
  const requesters = REQUESTERS.map((name) => new Worker(name));
  const runner = await startRunner(t, [...workers, ...requesters], { autoEnd: false });

  const contexts = [];
  const send = (i) => {
    const from = i % 4 === 3 ? runner : requesters[i % 3];
    const ctx =
      i % 10 === 9
        ? from.jobGroup(["w0", WORKERS[1 + (i % 2)]], { payload: i })
        : from.job(WORKERS[i % 3], { payload: i, timeout: i % 7 === 0 ? 60_000 : undefined });
    contexts.push(ctx);
    if (i % 5 === 0) drain(ctx).catch(() => {}); // some are iterated too
  };
  for (let i = 0; i < 1000; i++) send(i);
  await waitFor(() => running.length >= 200, { timeout: 3000, what: "handlers running" });
  const cancelled = runner.cancel();
  for (let i = 1000; i < 2000; i++) send(i); // the rest of the burst, while the runner cancels
  await within(cancelled, 3000, "runner.cancel()");
  await within(runner.finished, 1000, "runner.finished");

  const settled = await settleAll(contexts, 3000, "every context of the burst");
  assert.equal(settled.length, 2000);
  const reasons = new Map();
  const allowed = new Set(["runner exiting", ...[...WORKERS, ...REQUESTERS].map((w) => `worker '${w}' stopped`)]);
  for (const [i, s] of settled.entries()) {
    assert.equal(s.status, "rejected", `job ${i} completed: ${JSON.stringify(s.value)}`);
    const e = s.reason;
    assert.ok(e instanceof JobError, `job ${i}: a JobError, got ${e}`);
    assert.equal(e instanceof JobGroupError, i % 10 === 9, `job ${i}: JobGroupError exactly for groups`);
    assert.ok(allowed.has(e.reason), `job ${i}: unexpected reason ${JSON.stringify(e.reason)}`);
    assert.equal(e.message, e.reason);
    reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
  }
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(reasons))}`);
  assert.ok(running.every((job) => job.signal.aborted), "every running handler was aborted");
  for (const w of [...workers, ...requesters]) {
    assert.equal(w.activeJobs.size, 0, `${w.name} keeps active jobs`);
    assert.equal(w.jobGroups.size, 0, `${w.name} keeps job groups`);
    assert.equal(await isSettled(w.finished), true, `${w.name} finished`);
  }
  await quietFor(10); // no late unhandled rejection
  assert.deepEqual(unhandled, []);
});

// ----- a handler that never settles and ignores its signal ---------------------------------------

test("a handler that never settles and ignores its signal: 'timeout', the worker takes the next job, end() still finishes", T, async (t) => {
  const { r, w, runner } = await startPair(t, (w) => {
    w.onJob("hang", () => new Promise(() => {}));
    w.onJob("echo", (job) => job.payload);
  });
  const hung = [];
  for (let i = 0; i < 3; i++) hung.push(r.job("w", { name: "hang", timeout: 30 }));
  for (const ctx of hung) {
    const err = await catchError(ctx, 2000);
    assert.ok(err instanceof JobError && !(err instanceof JobGroupError), `a JobError, got ${err}`);
    assert.equal(err.reason, "timeout");
    assert.equal(err.jobId, ctx.jobId);
  }
  await waitFor(() => w.activeJobs.size === 0, { what: "the timed-out jobs released" });
  assert.equal(await r.job("w", { name: "echo", payload: "next", timeout: 1000 }), "next");

  // One more that hangs with no deadline, from the runner itself (a requester worker that stops
  // would cancel it): a graceful end gives it the grace period, then aborts it.
  const pending = runner.job("w", { name: "hang" });
  await pending.started;
  await waitFor(() => w.activeJobs.size === 1, { what: "the handler running" });
  const t0 = Date.now();
  await within(runner.end({ gracePeriod: 50 }), 2000, "end({ gracePeriod: 50 })");
  assert.ok(Date.now() - t0 >= 45, "end() waited for the grace period");
  const err = await catchError(pending, 1000);
  assert.ok(err instanceof JobError);
  assert.ok(["worker 'w' stopped", "runner exiting"].includes(err.reason), err.reason);
  assert.equal(w.activeJobs.size, 0);
});

// ----- listeners throwing on every event ----------------------------------------------------------

test("listeners that throw on every event (sync and async): jobs, groups, cancels, timeouts and the runner's end go on; errors are logged", T, async (t) => {
  const unhandled = trackUnhandledRejections(t);
  const log = captureLog(t);
  const r = new Worker("r");
  const w = new Worker("w", { active: false });
  const v = new Worker("v");
  w.onJob("ok", async (job) => {
    await job.update(1);
    await job.streamStart("s");
    await job.streamData("d");
    await job.streamEnd({ done: job.payload });
  });
  w.onJob("fail", () => {
    throw new Error("bad");
  });
  w.onJob("block", (job) => new Promise((resolve) => job.signal.addEventListener("abort", resolve, { once: true })));
  v.onJob((job) => ({ v: job.payload }));
  const fired = new Map();
  for (const worker of [r, w, v]) {
    for (const event of WORKER_EVENTS) {
      worker.on(event, () => {
        fired.set(event, (fired.get(event) ?? 0) + 1);
        throw new Error(`${worker.name} ${event} listener`);
      });
      worker.on(event, async () => {
        throw new Error(`${worker.name} ${event} async listener`);
      });
    }
  }
  const runner = new WorkerRunner();
  runner.on("ready", () => {
    throw new Error("runner ready listener");
  });
  await runner.addWorkers(r, w, v);
  await runner.start({ autoEnd: false });
  t.after(() => within(runner.cancel(), 2000, "cancel()"));
  await within(r.activateWorker("w"), 1000, "activateWorker");
  await waitFor(() => w.active, { what: "w active" });

  const ok = r.job("w", { name: "ok", payload: 1, timeout: 2000 });
  assert.deepEqual(await drain(ok), [
    { type: "update", data: 1 },
    { type: "stream_start", data: "s" },
    { type: "stream_data", data: "d" },
    { type: "stream_end", data: { done: 1 } },
  ]);
  assert.deepEqual(await ok, { done: 1 });

  const failed = await catchError(r.job("w", { name: "fail", timeout: 2000 }));
  assert.ok(failed instanceof JobError);
  assert.equal(failed.reason, "worker 'w' errored");
  assert.deepEqual(failed.response, { error: "bad" });

  const cancelled = r.job("w", { name: "block" });
  await cancelled.started;
  await waitFor(() => w.activeJobs.size === 1, { what: "the blocking handler running" });
  await cancelled.cancel("changed my mind");
  assert.equal((await catchError(cancelled)).reason, "changed my mind");

  assert.equal((await catchError(r.job("w", { name: "block", timeout: 30 }))).reason, "timeout");

  const group = await catchError(r.jobGroup(["w", "v"], { name: "fail", payload: 2, timeout: 2000 }));
  assert.ok(group instanceof JobGroupError);
  assert.equal(group.reason, "worker 'w' errored");
  assert.deepEqual(await r.jobGroup(["v", "w"], { name: "ok", payload: 3, timeout: 2000 }), { v: { v: 3 }, w: { done: 3 } });

  await within(r.deactivateWorker("w"), 1000, "deactivateWorker");
  await waitFor(() => !w.active, { what: "w inactive" });
  await w.sendBusErrorMessage("reported");

  await within(runner.end({ gracePeriod: 100 }), 2000, "end() with throwing 'finished' listeners");
  for (const event of ["activated", "deactivated", "finished", "jobRequest", "jobResponse", "jobUpdate", "jobError", "jobStreamStart", "jobStreamData", "jobStreamEnd", "jobCancelled", "busMessage", "jobCompleted"]) {
    assert.ok(fired.get(event) > 0, `no '${event}' listener ran`);
  }
  await waitFor(() => log.some((l) => /listener/.test(l.message)), { what: "the listener errors logged" });
  assert.deepEqual(unhandled, []);
  for (const worker of [r, w, v]) {
    assert.equal(worker.activeJobs.size, 0);
    assert.equal(worker.jobGroups.size, 0);
  }
});
