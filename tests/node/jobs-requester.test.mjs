// The requester side of jobs: job, jobGroup, requestJob, requestJobGroup,
// createJobGroupAndRequestJob, cancelJobGroup, requestCancelJobGroup, requestJobUpdate, timeouts
// (one deadline), readiness timeouts, cancelOnError.
//
// Assumptions (readings of the contract where it is not explicit):
// - A failed single job (a `job()` context, `requestJob`) rejects with a `JobError` that is not
//   a `JobGroupError`; group APIs reject with `JobGroupError`.
// - `ctx.started` rejects with the very error the context rejects with.
// - With `cancelOnError` true, the group error's `responses` include the failing member's own
//   response (Pipecat records it before cancelling), and the error carries that member's
//   `workerName`, `status` and `response`. "jobError" fires then (and only with cancelOnError, as
//   in Pipecat); "jobCompleted" does not.
// - A group that fails on the readiness wait sends nothing (no member's handler runs).
// - `createJobGroupAndRequestJob` defaults: cancelOnError true, cancellable true, label undefined;
//   `workerNames` keeps the given order; `worker.jobGroups` holds the group until it is done.
// - `cancelJobGroup(id)` without a reason fails the group with "cancelled"; the members see
//   "jobCancelled" with the reason given.
// - `requestCancelJobGroup` on a non-cancellable group leaves it running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, JobError, JobGroupError } from "workbus";
import { T, UUID, sleep, quietFor, deferred, within, startRunner, startPair, catchError } from "./helpers.mjs";
import { waitFor, record, blockingHandler, blockingWorker, echoWorker, assertMessage, assertJobError } from "./helpers.mjs";

/**
 * A started runner with a requester "r", "ok" (answers `{ v: 1 }`), "bad" (throws "boom" after
 * `ms` ms) and `extra`; records r's "jobError" and "jobCompleted" events.
 */
async function okBadAnd(t, ms, extra) {
  const r = new Worker("r");
  await startRunner(t, [r, new Worker("ok").onJob(() => ({ v: 1 })), throwsLater("bad", ms), extra]);
  return { r, jobErrors: record(r, "jobError"), completed: record(r, "jobCompleted") };
}

/** A worker whose handler answers `failed` with `{ why: "no" }`. */
function failsNo(name) {
  return new Worker(name).onJob((job) => job.respond({ why: "no" }, { status: "failed" }));
}

/** A worker whose handler throws `Error("boom")` after `ms` ms. */
function throwsLater(name, ms) {
  return new Worker(name).onJob(async () => {
    await sleep(ms);
    throw new Error("boom");
  });
}

test("job: the response; payload by reference; source is the requester", T, async (t) => {
  let seenPayload;
  const { r } = await startPair(t, (w) =>
    w.onJob((job) => {
      seenPayload = job.payload;
      return { source: job.source, name: job.name };
    }),
  );
  const payload = { list: [1, 2] };
  assert.deepEqual(await r.job("w", { name: "n", payload }), { source: "r", name: "n" });
  assert.equal(seenPayload, payload);
});

test("jobGroup: responses keyed by worker name", T, async (t) => {
  const r = new Worker("r");
  await startRunner(t, [r, echoWorker("a"), echoWorker("b"), echoWorker("c")]);
  const group = r.jobGroup(["a", "b", "c"], { payload: 7 });
  const responses = await group;
  assert.deepEqual(responses, {
    a: { from: "a", payload: 7 },
    b: { from: "b", payload: 7 },
    c: { from: "c", payload: 7 },
  });
  assert.deepEqual(group.responses, responses);
  assert.match(group.jobId, UUID);
  assert.equal(r.jobGroups.size, 0);
});

test("requestJob returns the id; results arrive as 'jobResponse' and 'jobCompleted'", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const answer = { answered: true };
  w.onJob(() => answer);
  await startRunner(t, [r, w]);
  const responses = record(r, "jobResponse");
  const completed = record(r, "jobCompleted");
  const id = await r.requestJob("w", { payload: 1 });
  assert.equal(typeof id, "string");
  assert.equal(id.length, 36);
  assert.match(id, UUID);
  await waitFor(() => responses.length === 1 && completed.length === 1, { what: "response events" });
  const m = responses[0];
  assert.equal(m.type, "BusJobResponseMessage");
  assert.equal(m.jobId, id);
  assert.equal(m.source, "w");
  assert.equal(m.target, "r");
  assert.equal(m.status, "completed");
  assert.equal(m.response, answer);
  assert.deepEqual(completed[0], { jobId: id, responses: { w: answer } });
});

test("requestJobGroup returns the id; 'jobCompleted' carries every response", T, async (t) => {
  const r = new Worker("r");
  await startRunner(t, [r, echoWorker("a"), echoWorker("b")]);
  const completed = record(r, "jobCompleted");
  const responses = record(r, "jobResponse");
  const id = await r.requestJobGroup(["a", "b"], { payload: "p" });
  assert.match(id, UUID);
  await waitFor(() => completed.length === 1, { what: "jobCompleted" });
  assert.deepEqual(completed[0], {
    jobId: id,
    responses: { a: { from: "a", payload: "p" }, b: { from: "b", payload: "p" } },
  });
  assert.equal(responses.length, 2);
  assert.deepEqual(responses.map((m) => m.source).sort(), ["a", "b"]);
});

test("createJobGroupAndRequestJob: JobGroup fields, wait(), isDone, worker.jobGroups", T, async (t) => {
  const r = new Worker("r");
  const gate = deferred();
  const a = new Worker("a");
  const b = new Worker("b");
  a.onJob(async () => {
    await gate.promise;
    return "A";
  });
  b.onJob(async () => {
    await gate.promise;
    return "B";
  });
  await startRunner(t, [r, a, b]);
  const group = await r.createJobGroupAndRequestJob(["b", "a"], {
    label: "L",
    cancellable: false,
    cancelOnError: false,
  });
  assert.match(group.jobId, UUID);
  assert.deepEqual([...group.workerNames], ["b", "a"]);
  assert.equal(group.label, "L");
  assert.equal(group.cancellable, false);
  assert.equal(group.cancelOnError, false);
  assert.equal(group.isDone, false);
  assert.deepEqual({ ...group.responses }, {});
  assert.equal(r.jobGroups.has(group.jobId), true);
  gate.resolve();
  assert.equal(await within(group.wait(), 1000, "wait()"), undefined);
  assert.equal(group.isDone, true);
  assert.deepEqual({ ...group.responses }, { a: "A", b: "B" });
  assert.equal(r.jobGroups.has(group.jobId), false);

  const dflt = await r.createJobGroupAndRequestJob(["a"]);
  assert.equal(dflt.cancelOnError, true);
  assert.equal(dflt.cancellable, true);
  assert.equal(dflt.label, undefined);
  await dflt.wait();
  assert.deepEqual({ ...dflt.responses }, { a: "A" });
});

test("cancelJobGroup: members' signals abort, they see 'jobCancelled', the group fails", T, async (t) => {
  const r = new Worker("r");
  const { worker: a, started: aStarted } = blockingWorker("a");
  const { worker: b, started: bStarted } = blockingWorker("b");
  const cancelledA = record(a, "jobCancelled");
  const cancelledB = record(b, "jobCancelled");
  await startRunner(t, [r, a, b]);
  const group = await r.createJobGroupAndRequestJob(["a", "b"]);
  const [ja, jb] = await Promise.all([aStarted, bStarted]);
  assert.equal(await r.cancelJobGroup(group.jobId, "why"), undefined);
  const err = await catchError(group.wait());
  assert.ok(err instanceof JobError);
  assertJobError(err, { name: "JobGroupError", message: "why", reason: "why", jobId: group.jobId }, JobGroupError);
  assert.equal(group.isDone, true);
  await waitFor(() => ja.signal.aborted && jb.signal.aborted, { what: "signals aborted" });
  await waitFor(() => cancelledA.length === 1 && cancelledB.length === 1, { what: "jobCancelled" });
  assert.equal(cancelledA[0].reason, "why");
  assert.equal(cancelledB[0].jobId, group.jobId);
  assert.equal(r.jobGroups.size, 0);

  // Without a reason: "cancelled".
  const ctx = r.job("a");
  const id = await ctx.started;
  await r.cancelJobGroup(id);
  const err2 = await catchError(ctx);
  assert.ok(err2 instanceof JobError);
  assert.equal(err2.message, "cancelled");
  // Unknown ids are ignored.
  assert.equal(await r.cancelJobGroup("00000000-0000-4000-8000-000000000000"), undefined);
});

test("requestCancelJobGroup: false when unknown or not cancellable, true otherwise", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const gate = deferred();
  w.onJob(async (job) => {
    await Promise.race([gate.promise, new Promise((res) => job.signal.addEventListener("abort", res))]);
    return job.signal.aborted ? "aborted" : "finished";
  });
  w.onJob("block", blockingHandler().handler);
  await startRunner(t, [r, w]);
  assert.equal(await r.requestCancelJobGroup("00000000-0000-4000-8000-000000000000", "x"), false);

  const fixed = r.job("w", { cancellable: false });
  const fixedId = await fixed.started;
  assert.equal(await r.requestCancelJobGroup(fixedId, "please"), false);

  const open = r.job("w");
  const openId = await open.started;
  assert.equal(await r.requestCancelJobGroup(openId, "please"), true);
  const err = await catchError(open);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "please");
  assert.equal(await r.requestCancelJobGroup(openId, "again"), false, "no longer known");

  gate.resolve();
  assert.equal(await fixed, "finished", "the non-cancellable job was left alone");

  // The requester's own cancel still works on a non-cancellable job.
  const fixed2 = r.job("w", { name: "block", cancellable: false });
  await fixed2.started;
  await fixed2.cancel("mine");
  assert.equal((await catchError(fixed2)).message, "mine");
});

test("requestJobUpdate: the worker gets 'jobUpdateRequested' and can answer with an update", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const release = deferred();
  w.onJob(async () => {
    await release.promise;
    return "done";
  });
  const requested = [];
  w.on("jobUpdateRequested", (m) => {
    requested.push(m);
    w.sendJobUpdate(m.jobId, { progress: 50 });
  });
  await startRunner(t, [r, w]);
  const ctx = r.job("w");
  const id = await ctx.started;
  const events = [];
  const iterating = (async () => {
    for await (const ev of ctx) events.push(ev);
  })();
  assert.equal(await r.requestJobUpdate(id, "w"), undefined);
  await waitFor(() => events.length === 1, { what: "update event" });
  assert.deepEqual(events, [{ type: "update", data: { progress: 50 } }]);
  assert.equal(requested.length, 1);
  assert.equal(requested[0].type, "BusJobUpdateRequestMessage");
  assert.equal(requested[0].jobId, id);
  assert.equal(requested[0].source, "r");
  assert.equal(requested[0].target, "w");
  release.resolve();
  assert.equal(await ctx, "done");
  await iterating;
  // After the job is done an update request is ignored.
  await r.requestJobUpdate(id, "w");
  await quietFor(10);
  assert.equal(requested.length, 1);
});

test("one deadline covers the readiness wait and the job", T, async (t) => {
  const r = new Worker("r");
  const runner = await startRunner(t, [r]);
  const late = new Worker("late");
  let signal;
  late.onJob(async (job) => {
    signal = job.signal;
    await sleep(60);
    return "too late";
  });
  const t0 = Date.now();
  const ctx = r.job("late", { timeout: 100 });
  const adding = sleep(60).then(() => runner.addWorkers(late));
  const err = await catchError(ctx);
  const elapsed = Date.now() - t0;
  await adding;
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "timeout");
  assert.ok(elapsed >= 90, `rejected after ${elapsed} ms`);
  assert.ok(elapsed < 150, `rejected after ${elapsed} ms (one deadline, not two)`);
  assert.match(ctx.jobId, UUID, "the job was sent");
  await waitFor(() => signal?.aborted, { what: "the handler's signal aborted" });
});

test("readiness timeout: JobError for a job, JobGroupError for a group; nothing sent", T, async (t) => {
  const r = new Worker("r");
  const a = new Worker("a");
  let aCalls = 0;
  a.onJob(() => {
    aCalls++;
    return "a";
  });
  await startRunner(t, [r, a]);

  const t0 = Date.now();
  const ctx = r.job("ghost", { timeout: 30 });
  const err = await catchError(ctx);
  assert.ok(Date.now() - t0 >= 25);
  assert.ok(err instanceof JobError);
  assert.ok(!(err instanceof JobGroupError), "a single job's readiness timeout is not a JobGroupError");
  assert.equal(err.name, "JobError");
  assert.equal(err.message, "workers not ready within timeout");
  assert.equal(err.reason, "workers not ready within timeout");
  assert.equal(err.jobId, undefined);
  assert.equal(ctx.jobId, undefined);
  assert.equal(await catchError(ctx.started), err);

  const group = r.jobGroup(["a", "ghost"], { timeout: 30 });
  const gerr = await catchError(group);
  assert.ok(gerr instanceof JobGroupError);
  assert.equal(gerr.name, "JobGroupError");
  assert.equal(gerr.message, "workers not ready within timeout");
  assert.equal(group.jobId, undefined);

  const rj = await catchError(r.requestJob("ghost", { timeout: 20 }));
  assert.ok(rj instanceof JobError);
  assert.ok(!(rj instanceof JobGroupError));
  assert.equal(rj.message, "workers not ready within timeout");

  const rg = await catchError(r.requestJobGroup(["a", "ghost"], { timeout: 20 }));
  assert.ok(rg instanceof JobGroupError);
  assert.equal(rg.message, "workers not ready within timeout");

  const cg = await catchError(r.createJobGroupAndRequestJob(["ghost", "a"], { timeout: 20 }));
  assert.ok(cg instanceof JobGroupError);
  assert.equal(cg.message, "workers not ready within timeout");

  await quietFor(10);
  assert.equal(aCalls, 0, "nothing was sent");
  assert.equal(r.jobGroups.size, 0);
});

test("job timeout: a handler that never settles rejects 'timeout' and its signal aborts", T, async (t) => {
  let signal;
  const { r, w } = await startPair(t, (w) =>
    w.onJob((job) => {
      signal = job.signal;
      return new Promise(() => {});
    }),
  );
  const cancelled = record(w, "jobCancelled");
  const t0 = Date.now();
  const ctx = r.job("w", { timeout: 30 });
  const err = await catchError(ctx);
  const elapsed = Date.now() - t0;
  assert.ok(err instanceof JobError);
  assert.ok(!(err instanceof JobGroupError));
  assert.equal(err.message, "timeout");
  assert.equal(err.reason, "timeout");
  assert.equal(err.jobId, ctx.jobId);
  assert.ok(elapsed >= 25 && elapsed < 500, `timed out after ${elapsed} ms`);
  await waitFor(() => signal?.aborted, { what: "signal aborted" });
  await waitFor(() => cancelled.length === 1, { what: "jobCancelled" });
  assert.equal(cancelled[0].reason, "timeout");
  await waitFor(() => w.activeJobs.size === 0, { what: "job released" });
});

test("group timeout: JobGroupError 'timeout' with the responses received so far", T, async (t) => {
  const r = new Worker("r");
  const fast = new Worker("fast").onJob(() => "quick");
  const { worker: slow, started } = blockingWorker("slow");
  await startRunner(t, [r, fast, slow]);
  const group = r.jobGroup(["fast", "slow"], { timeout: 40 });
  const err = await catchError(group);
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "timeout");
  assert.equal(err.jobId, group.jobId);
  assert.deepEqual(err.responses, { fast: "quick" });
  const job = await started;
  await waitFor(() => job.signal.aborted, { what: "slow aborted" });
});

test("cancelOnError true: a failing member cancels the others; the group rejects", T, async (t) => {
  const { worker: slow, started } = blockingWorker("slow");
  const slowCancelled = record(slow, "jobCancelled");
  const { r, jobErrors, completed } = await okBadAnd(t, 15, slow);

  const group = r.jobGroup(["ok", "bad", "slow"]);
  const err = await catchError(group);
  const reason = "worker 'bad' errored";
  const response = { error: "boom" };
  const fields = { message: reason, reason, jobId: group.jobId, workerName: "bad", status: "error", response };
  assertJobError(err, { ...fields, responses: { ok: { v: 1 }, bad: response } }, JobGroupError);

  const job = await started;
  await waitFor(() => job.signal.aborted, { what: "slow's signal aborted" });
  await waitFor(() => slowCancelled.length === 1, { what: "slow's jobCancelled" });
  assert.equal(slowCancelled[0].reason, "worker 'bad' errored");
  await waitFor(() => jobErrors.length === 1, { what: "jobError" });
  assertMessage(jobErrors[0], { type: "BusJobResponseMessage", source: "bad", jobId: group.jobId, status: "error", response });
  await quietFor(10); // no "jobCompleted"
  assert.deepEqual(completed, []);
});

test("cancelOnError true also applies to a 'failed' answer", T, async (t) => {
  const r = new Worker("r");
  const f = failsNo("f");
  const { worker: other, started } = blockingWorker("other");
  await startRunner(t, [r, f, other]);
  const err = await catchError(r.jobGroup(["other", "f"]));
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "worker 'f' errored");
  assert.equal(err.status, "failed");
  const job = await started;
  await waitFor(() => job.signal.aborted, { what: "other aborted" });
});

test("cancelOnError false: the error response is recorded and the group resolves", T, async (t) => {
  const { r, jobErrors, completed } = await okBadAnd(t, 5, failsNo("failing"));
  const group = r.jobGroup(["ok", "bad", "failing"], { cancelOnError: false });
  const responses = await group;
  assert.deepEqual(responses, { ok: { v: 1 }, bad: { error: "boom" }, failing: { why: "no" } });
  await waitFor(() => completed.length === 1, { what: "jobCompleted" });
  assert.deepEqual(completed[0], { jobId: group.jobId, responses });
  assert.deepEqual(jobErrors, []);

  const created = await r.createJobGroupAndRequestJob(["bad"], { cancelOnError: false });
  await created.wait();
  assert.deepEqual({ ...created.responses }, { bad: { error: "boom" } });
});

test("a member answering 'cancelled' unasked: fails the group with its reason (cancelOnError), else recorded", T, async (t) => {
  const r = new Worker("r");
  const ok = new Worker("ok").onJob(() => "fine");
  const quitter = new Worker("quitter");
  quitter.onJob(async (job) => {
    await sleep(5);
    await job.respond({ reason: "nah" }, { status: "cancelled" });
  });
  await startRunner(t, [r, ok, quitter]);
  const err = await catchError(r.jobGroup(["ok", "quitter"]));
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "nah");
  const responses = await r.jobGroup(["ok", "quitter"], { cancelOnError: false });
  assert.deepEqual(responses, { ok: "fine", quitter: { reason: "nah" } });
});

test("a group member that stops mid-job fails the group 'worker '<w>' stopped'", T, async (t) => {
  const r = new Worker("r");
  const ok = new Worker("ok").onJob(() => "fine");
  const { worker: leaving, started } = blockingWorker("leaving");
  await startRunner(t, [r, ok, leaving]);
  const group = r.jobGroup(["ok", "leaving"]);
  await started;
  await leaving.stop({ gracePeriod: 0 });
  const err = await catchError(group);
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "worker 'leaving' stopped");
});

test("workers of a group must all be ready: the group waits for a late member", T, async (t) => {
  const r = new Worker("r");
  const runner = await startRunner(t, [r, echoWorker("a")]);
  const group = r.jobGroup(["a", "b"], { payload: 1 });
  await quietFor(20);
  assert.equal(group.jobId, undefined, "not sent while b is not ready");
  await runner.addWorkers(echoWorker("b"));
  assert.deepEqual(await within(group, 1000, "group"), {
    a: { from: "a", payload: 1 },
    b: { from: "b", payload: 1 },
  });
});
