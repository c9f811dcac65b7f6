// JobContext / JobGroupContext: thenable, jobId, started, response, status, cancel, iteration
// (late start, break, errors, finished jobs), signal, no unhandled rejections; JobError and
// JobGroupError; JobStatus / JobEvent / JobGroupEvent.
//
// Assumptions (readings of the contract where it is not explicit):
// - "The job's error" is one object: `await ctx` (any number of times), every `for await` over
//   the failed context and `ctx.started` (when never sent) reject with that same object.
// - `ctx.cancel(reason)` before the send means nothing is sent (the handler never runs) and the
//   context rejects with `reason`; `ctx.cancel()` after the job completed changes nothing.
// - A signal that is already aborted when the job is requested cancels it at once, with the same
//   reason rule (the signal's reason if a string, else "cancelled"); nothing is sent.
// - `new JobError(reason, { jobId, workerName, status, response })` and
//   `new JobGroupError(reason, { responses, … })` construct errors as the package's own type
//   definitions describe.
// - `JobStatus`, `JobEvent` and `JobGroupEvent` are plain objects with exactly the listed keys.
// - Errors are genuine Error objects: `Object.prototype.toString.call(err)` is "[object Error]".
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, JobError, JobGroupError, JobStatus, JobEvent, JobGroupEvent } from "workbus";
import { T, UUID, quietFor, deferred, startRunner, startPair, catchError, waitFor } from "./helpers.mjs";
import { isSettled, drain, drainSettled, blockingHandler, blockingWorker, assertJobError, trackUnhandledRejections } from "./helpers.mjs";

/** A runner with a requester "r" and a worker "w" with a few named handlers. */
async function setup(t) {
  const gate = deferred();
  const block = blockingHandler();
  const calls = [];
  const { r, w, runner } = await startPair(t, (w) => {
    w.onJob("echo", (job) => job.payload);
    w.onJob("events", async (job) => {
      await job.update({ u: 1 });
      await job.streamStart("s");
      await job.streamData("d1");
      await job.streamData("d2");
      await job.streamEnd({ end: true });
    });
    w.onJob("fail-after-updates", async (job) => {
      await job.update(1);
      await job.update(2);
      throw new Error("bad");
    });
    w.onJob("gated", async (job) => {
      await job.update(1);
      await gate.promise;
      await job.update(2);
      await job.update(3);
      return "end";
    });
    w.onJob("fail", () => {
      throw new Error("nope");
    });
    w.onJob("block", block.handler);
    w.onJob("count", () => {
      calls.push("count");
      return calls.length;
    });
  });
  return { r, w, runner, gate, block, calls };
}

test("a context is a thenable: await gives the response", T, async (t) => {
  const { r } = await setup(t);
  const payload = { p: 1 };
  const ctx = r.job("w", { name: "echo", payload });
  assert.equal(typeof ctx.then, "function");
  assert.equal(await ctx, payload);
  assert.equal(await ctx, payload, "awaiting again gives the same response");
  const chained = await r.job("w", { name: "echo", payload: 2 }).then((v) => v * 10);
  assert.equal(chained, 20);
  const both = await Promise.all([r.job("w", { name: "echo", payload: "a" }), r.job("w", { name: "echo", payload: "b" })]);
  assert.deepEqual(both, ["a", "b"]);
});

test("jobId, started, response and status through the life of a context", T, async (t) => {
  const { r, block } = await setup(t);
  const ctx = r.job("w", { name: "echo", payload: { x: 1 } });
  assert.equal(ctx.jobId, undefined, "undefined before the send");
  assert.equal(ctx.response, undefined);
  assert.equal(ctx.status, undefined);
  const id = await ctx.started;
  assert.equal(typeof id, "string");
  assert.equal(id.length, 36);
  assert.match(id, UUID);
  assert.equal(ctx.jobId, id);
  const res = await ctx;
  assert.deepEqual(res, { x: 1 });
  assert.equal(ctx.response, res);
  assert.equal(ctx.status, "completed");

  const pending = r.job("w", { name: "block" });
  await block.started;
  assert.match(pending.jobId, UUID);
  assert.equal(pending.response, undefined);
  assert.equal(pending.status, undefined);
  assert.equal(await isSettled(pending), false);
  await pending.cancel("done here");
  await catchError(pending);
  assert.equal(pending.response, undefined);

  // Distinct jobs get distinct ids.
  const a = r.job("w", { name: "echo" });
  const b = r.job("w", { name: "echo" });
  assert.notEqual(await a.started, await b.started);
});

test("a group context is a thenable: await gives the responses by name", T, async (t) => {
  const r = new Worker("r");
  const a = new Worker("a");
  const b = new Worker("b");
  const gate = deferred();
  a.onJob(() => "A");
  b.onJob(async () => {
    await gate.promise;
    return "B";
  });
  await startRunner(t, [r, a, b]);
  const group = r.jobGroup(["a", "b"]);
  assert.equal(group.jobId, undefined);
  const id = await group.started;
  assert.match(id, UUID);
  assert.equal(group.jobId, id);
  await waitFor(() => group.responses.a === "A", { what: "a's response recorded" });
  assert.deepEqual({ ...group.responses }, { a: "A" }, "responses so far");
  gate.resolve();
  assert.deepEqual(await group, { a: "A", b: "B" });
  assert.deepEqual({ ...group.responses }, { a: "A", b: "B" });
});

test("cancel before the send: nothing is sent, the context rejects with the reason", T, async (t) => {
  const { r, calls } = await setup(t);
  const ctx = r.job("w", { name: "count" });
  await ctx.cancel("too early");
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "too early");
  assert.equal(err.reason, "too early");
  assert.equal(await catchError(ctx.started), err);
  assert.equal(ctx.jobId, undefined);

  const noReason = r.job("w", { name: "count" });
  const cancelling = noReason.cancel();
  assert.equal(await cancelling, undefined);
  assert.equal((await catchError(noReason)).message, "cancelled");

  const group = r.jobGroup(["w"], { name: "count" });
  await group.cancel("group too early");
  const gerr = await catchError(group);
  assert.ok(gerr instanceof JobGroupError);
  assert.equal(gerr.message, "group too early");

  await quietFor(20);
  assert.deepEqual(calls, [], "no handler ran");
});

test("cancel after the send aborts the worker's handler; after completion it changes nothing", T, async (t) => {
  const { r, block } = await setup(t);
  const ctx = r.job("w", { name: "block" });
  const job = await block.started;
  await ctx.cancel();
  const err = await catchError(ctx);
  assert.equal(err.message, "cancelled");
  assert.equal(err.jobId, job.id);
  await waitFor(() => job.signal.aborted, { what: "handler aborted" });

  const done = r.job("w", { name: "echo", payload: "kept" });
  assert.equal(await done, "kept");
  await done.cancel("too late");
  assert.equal(await done, "kept");
  assert.equal(done.status, "completed");
});

test("group cancel: every member's handler aborts; JobGroupError with the reason", T, async (t) => {
  const r = new Worker("r");
  const ha = blockingWorker("a");
  const hb = blockingWorker("b");
  await startRunner(t, [r, ha.worker, hb.worker]);
  const group = r.jobGroup(["a", "b"]);
  const [ja, jb] = await Promise.all([ha.started, hb.started]);
  await group.cancel("enough");
  const err = await catchError(group);
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "enough");
  assert.equal(err.jobId, group.jobId);
  await waitFor(() => ja.signal.aborted && jb.signal.aborted, { what: "both aborted" });
});

test("for await yields every event in arrival order, even when the loop starts late", T, async (t) => {
  const { r } = await setup(t);
  const ctx = r.job("w", { name: "events" });
  assert.deepEqual(await ctx, { end: true });
  // The job is finished; the loop still sees every event since the send.
  const events = await drain(ctx);
  assert.deepEqual(events, [
    { type: "update", data: { u: 1 } },
    { type: "stream_start", data: "s" },
    { type: "stream_data", data: "d1" },
    { type: "stream_data", data: "d2" },
    { type: "stream_end", data: { end: true } },
  ]);
  assert.deepEqual(
    events.map((e) => e.type),
    [JobEvent.UPDATE, JobEvent.STREAM_START, JobEvent.STREAM_DATA, JobEvent.STREAM_DATA, JobEvent.STREAM_END],
  );
  // Consumed: a loop over the finished job ends at once.
  assert.deepEqual(await drain(ctx), []);
});

test("a running loop ends when the job completes", T, async (t) => {
  const { r, gate } = await setup(t);
  const ctx = r.job("w", { name: "gated" });
  const seen = [];
  const loop = (async () => {
    for await (const ev of ctx) {
      seen.push(ev.data);
      if (seen.length === 1) setTimeout(() => gate.resolve(), 5);
    }
    return ctx.response;
  })();
  assert.equal(await loop, "end", "the loop ended after the job completed");
  assert.deepEqual(seen, [1, 2, 3]);
});

test("a loop over a job without events ends when it completes; over a finished one, at once", T, async (t) => {
  const { r } = await setup(t);
  const ctx = r.job("w", { name: "echo", payload: 1 });
  assert.deepEqual(await drain(ctx), []);
  assert.equal(ctx.response, 1);
  const t0 = Date.now();
  assert.deepEqual(await drain(ctx), []);
  assert.ok(Date.now() - t0 < 50);
});

test("the loop throws the job's error after the events received before the failure", T, async (t) => {
  const { r } = await setup(t);
  const ctx = r.job("w", { name: "fail-after-updates" });
  const { events, error } = await drainSettled(ctx);
  assert.deepEqual(events, [
    { type: "update", data: 1 },
    { type: "update", data: 2 },
  ]);
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "worker 'w' errored");
  assert.deepEqual(error.response, { error: "bad" });
  const awaited = await catchError(ctx);
  assert.equal(awaited, error, "await rejects with the same error");

  // A second loop over the failed job throws the same error again (no events left).
  const second = await drainSettled(ctx);
  assert.deepEqual(second.events, []);
  assert.equal(second.error, error);
  assert.equal(await catchError(ctx), error);
});

test("a late loop over a failed job yields its events, then throws", T, async (t) => {
  const { r } = await setup(t);
  const ctx = r.job("w", { name: "fail-after-updates" });
  const err = await catchError(ctx);
  const { events, error } = await drainSettled(ctx);
  assert.deepEqual(
    events.map((e) => e.data),
    [1, 2],
  );
  assert.equal(error, err);
});

test("break does not cancel the job; a later loop continues with the remaining events", T, async (t) => {
  const { r, w, gate } = await setup(t);
  const requests = [];
  w.on("jobRequest", (job) => requests.push(job));
  const ctx = r.job("w", { name: "gated" });
  const first = [];
  for await (const ev of ctx) {
    first.push(ev);
    break;
  }
  assert.deepEqual(first, [{ type: "update", data: 1 }]);
  await quietFor(10); // leaving the loop cancels nothing
  assert.equal(await isSettled(ctx), false, "still running");
  assert.equal(requests[0].signal.aborted, false, "not cancelled");
  gate.resolve();
  assert.equal(await ctx, "end");
  assert.deepEqual(await drain(ctx), [
    { type: "update", data: 2 },
    { type: "update", data: 3 },
  ]);
});

test("a group loop yields { type, data, workerName } per member, in each member's order", T, async (t) => {
  const r = new Worker("r");
  const a = new Worker("a");
  const b = new Worker("b");
  a.onJob(async (job) => {
    await job.update("a1");
    await job.update("a2");
    return "A";
  });
  b.onJob(async (job) => {
    await job.streamStart("b0");
    await job.streamData("b1");
    await job.streamEnd("b2");
  });
  await startRunner(t, [r, a, b]);
  const group = r.jobGroup(["a", "b"]);
  assert.deepEqual(await group, { a: "A", b: "b2" });
  const events = await drain(group);
  assert.equal(events.length, 5);
  for (const ev of events) assert.deepEqual(Object.keys(ev).sort(), ["data", "type", "workerName"]);
  assert.deepEqual(
    events.filter((e) => e.workerName === "a"),
    [
      { type: "update", data: "a1", workerName: "a" },
      { type: "update", data: "a2", workerName: "a" },
    ],
  );
  assert.deepEqual(
    events.filter((e) => e.workerName === "b"),
    [
      { type: JobGroupEvent.STREAM_START, data: "b0", workerName: "b" },
      { type: JobGroupEvent.STREAM_DATA, data: "b1", workerName: "b" },
      { type: JobGroupEvent.STREAM_END, data: "b2", workerName: "b" },
    ],
  );
});

test("signal: aborting cancels with the signal's reason if a string, 'cancelled' for abort(), an Error's message", T, async (t) => {
  const { r, w } = await setup(t);
  const started = [];
  w.on("jobRequest", (job) => started.push(job));

  const ac1 = new AbortController();
  const c1 = r.job("w", { name: "block", signal: ac1.signal });
  await waitFor(() => started.length === 1, { what: "first request" });
  ac1.abort("user left");
  const e1 = await catchError(c1);
  assert.ok(e1 instanceof JobError);
  assert.equal(e1.message, "user left");
  await waitFor(() => started[0].signal.aborted, { what: "handler aborted" });

  const ac2 = new AbortController();
  const c2 = r.job("w", { name: "block", signal: ac2.signal });
  await c2.started;
  ac2.abort();
  assert.equal((await catchError(c2)).message, "cancelled");

  const ac3 = new AbortController();
  const c3 = r.job("w", { name: "block", signal: ac3.signal });
  await c3.started;
  ac3.abort(new Error("an Error, not a string"));
  assert.equal((await catchError(c3)).message, "an Error, not a string");

  // Aborting after completion changes nothing.
  const ac4 = new AbortController();
  const c4 = r.job("w", { name: "echo", payload: "fine", signal: ac4.signal });
  assert.equal(await c4, "fine");
  ac4.abort("late");
  assert.equal(await c4, "fine");

  // A group with a signal.
  const ac5 = new AbortController();
  const g5 = r.jobGroup(["w"], { name: "block", signal: ac5.signal });
  await g5.started;
  ac5.abort("group abort");
  const e5 = await catchError(g5);
  assert.ok(e5 instanceof JobGroupError);
  assert.equal(e5.message, "group abort");
});

test("an already aborted signal cancels at once; nothing is sent", T, async (t) => {
  const { r, calls } = await setup(t);
  const err = await catchError(r.job("w", { name: "count", signal: AbortSignal.abort("pre-aborted") }));
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "pre-aborted");
  const err2 = await catchError(r.job("w", { name: "count", signal: AbortSignal.abort() }));
  assert.equal(err2.message, "cancelled");
  await quietFor(20); // no handler runs
  assert.deepEqual(calls, []);
});

test("a context never causes an unhandled rejection by itself", T, async (t) => {
  const fired = trackUnhandledRejections(t);
  const { r } = await setup(t);

  r.job("w", { name: "fail" }); // the worker errors
  r.job("ghost", { timeout: 10 }); // readiness timeout (never sent)
  r.jobGroup(["w", "ghost"], { timeout: 10 });
  r.jobGroup(["w"], { name: "fail" });
  r.job("w", { name: "block", timeout: 15 }); // timeout
  const cancelled = r.job("w", { name: "block" });
  cancelled.cancel("x");
  const early = r.job("w", { name: "echo" });
  early.cancel();
  r.job("w", { name: "echo", signal: AbortSignal.abort() });
  const broken = r.job("w", { name: "fail-after-updates" });
  // Start an iteration and abandon it.
  const it = broken[Symbol.asyncIterator]();
  it.next();

  await quietFor(100); // no unhandled rejection
  assert.deepEqual(fired, []);
});

test("JobError and JobGroupError are real Error subclasses", T, async (t) => {
  assert.ok(JobGroupError.prototype instanceof JobError);
  assert.ok(JobError.prototype instanceof Error);

  const { r } = await setup(t);
  const ctx = r.job("w", { name: "fail" });
  const err = await catchError(ctx);
  assert.ok(err instanceof Error);
  assert.ok(err instanceof JobError);
  assert.ok(!(err instanceof JobGroupError));
  assert.equal(err.name, "JobError");
  assert.equal(err.message, err.reason);
  assert.equal(err.jobId, ctx.jobId);
  assert.equal(typeof err.stack, "string");
  assert.equal(Object.prototype.toString.call(err), "[object Error]");

  const gerr = await catchError(r.jobGroup(["w"], { name: "fail" }));
  assert.ok(gerr instanceof Error);
  assert.ok(gerr instanceof JobError);
  assert.ok(gerr instanceof JobGroupError);
  assert.equal(gerr.name, "JobGroupError");
  assert.equal(gerr.message, "worker 'w' errored");
  assert.equal(gerr.reason, gerr.message);
  assert.deepEqual(gerr.responses, { w: { error: "nope" } });
});

test("JobError / JobGroupError constructors", T, () => {
  const e = new JobError("why", { jobId: "j1", workerName: "w", status: "error", response: { error: "x" } });
  assert.ok(e instanceof Error);
  const fields = { jobId: "j1", workerName: "w", status: "error", response: { error: "x" } };
  assertJobError(e, { name: "JobError", message: "why", reason: "why", ...fields });
  const plain = new JobError("just a reason");
  assert.equal(plain.message, "just a reason");
  assert.equal(plain.jobId, undefined);

  const g = new JobGroupError("group why", { jobId: "j2", responses: { a: 1 } });
  assert.ok(g instanceof JobError);
  assert.equal(g.name, "JobGroupError");
  assert.equal(g.message, "group why");
  assert.equal(g.reason, "group why");
  assert.equal(g.jobId, "j2");
  assert.deepEqual(g.responses, { a: 1 });
});

test("JobStatus, JobEvent and JobGroupEvent constants", T, () => {
  assert.deepEqual({ ...JobStatus }, { COMPLETED: "completed", CANCELLED: "cancelled", FAILED: "failed", ERROR: "error" });
  assert.deepEqual(
    { ...JobEvent },
    { UPDATE: "update", STREAM_START: "stream_start", STREAM_DATA: "stream_data", STREAM_END: "stream_end" },
  );
  assert.deepEqual({ ...JobGroupEvent }, { ...JobEvent });
});
