// Audit of the whole surface against the API contract: corners the other files leave open, re-entrancy
// (listeners and handlers calling back into their worker or runner) and loads.
//
// Assumptions (readings of the contract where it is not explicit):
// - "A loop ... throws the job's error when it fails" holds whatever makes the job fail,
//   including the context's own cancel() and its params.signal, and whether the loop was
//   already waiting for an event or not.
// - "Listeners run after the worker's own handling": for a cancel, the worker's own handling
//   is aborting the handler and answering `cancelled`, so a "jobCancelled" listener finds the job
//   no longer active and cannot answer it again.
// - `off(event, listener)` is a synchronous method like `on`: a non-function listener is a
//   TypeError naming "listener". A function registered with both `on` and `once` keeps its `on`
//   registration after the `once` one fired (as with Node's EventEmitter).
// - `WorkerActivationArgs.fromDict(obj)` and `LLMWorkerActivationArgs.fromDict(obj)` take an
//   object: `null`, `undefined` or fields of the wrong type (metadata not an object, messages
//   not an array) are bad input, a TypeError naming the argument or field.
// - A watch removed with `unwatch` and added again is a new watch (it fires at once again for a
//   known name); while it is in place, watching again does nothing.
// - A job sent to a worker during its graceful stop fails at once with "worker '<w>' stopped";
//   the handlers it is still running answer as usual.
// - A sequential job that is cancelled or times out while waiting for its turn never runs, and
//   the jobs after it still run in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Worker,
  WorkerRunner,
  WorkerRegistry,
  JobError,
  JobGroupError,
  WorkerActivationArgs,
  LLMWorkerActivationArgs,
  setLogger,
} from "workbus";
import { T, sleep, quietFor, deferred, within, addedRunner, startRunner, startPair, catchError, waitFor, catchSync } from "./helpers.mjs";
import { isSettled, drain, drainSettled, record, blockingHandler, blockingWorker, assertMessage, requestInOrder, trackUnhandledRejections, startBlockedJob } from "./helpers.mjs";

// ----- cancelling a job while a loop waits for its events --------------------------------------

test("ctx.cancel() while a for await loop waits: the loop throws and await rejects, with the reason", T, async (t) => {
  const { r, w } = await startPair(t, (w) => w.onJob(blockingHandler().handler));
  const ctx = r.job("w");
  const loop = drainSettled(ctx); // waits for an event that never comes
  const awaited = catchError(ctx, 1000); // registered after the loop
  await ctx.started;
  await ctx.cancel("stop");
  const { events, error } = await within(loop, 1000, "the waiting loop");
  assert.deepEqual(events, []);
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "stop");
  assert.equal(await within(awaited, 1000, "await ctx"), error);
  await waitFor(() => w.activeJobs.size === 0, { what: "the job released" });
});

test("aborting params.signal while a for await loop waits: the loop throws the signal's reason", T, async (t) => {
  const { r } = await startPair(t, (w) => w.onJob(blockingHandler().handler));
  const controller = new AbortController();
  const ctx = r.job("w", { signal: controller.signal });
  const loop = drainSettled(ctx);
  await ctx.started;
  controller.abort("gone");
  const { error } = await within(loop, 1000, "the waiting loop");
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "gone");
});

test("group.cancel() while a for await loop waits: the loop throws a JobGroupError", T, async (t) => {
  const a = blockingWorker("a");
  const b = blockingWorker("b");
  const r = new Worker("r");
  await startRunner(t, [r, a.worker, b.worker]);
  const group = r.jobGroup(["a", "b"]);
  const loop = drainSettled(group);
  await group.started;
  await group.cancel("enough");
  const { error } = await within(loop, 1000, "the waiting loop");
  assert.ok(error instanceof JobGroupError);
  assert.equal(error.message, "enough");
});

test("cancel() before the send while a loop waits (worker not ready yet): the loop throws", T, async (t) => {
  const { r } = await startPair(t);
  const ctx = r.job("not-there-yet");
  const loop = drainSettled(ctx);
  await sleep(5);
  await ctx.cancel("never mind");
  const { error } = await within(loop, 1000, "the waiting loop");
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "never mind");
  assert.equal(ctx.jobId, undefined);
});

test("the context's own cancel() while events were already consumed: the loop throws after them", T, async (t) => {
  const gate = deferred();
  const { r } = await startPair(t, (w) =>
    w.onJob(async (job) => {
      await job.update(1);
      await gate.promise;
    }),
  );
  const ctx = r.job("w");
  const seen = [];
  const loop = (async () => {
    try {
      for await (const ev of ctx) {
        seen.push(ev.data);
        setTimeout(() => ctx.cancel("after one"), 5);
      }
      return undefined;
    } catch (error) {
      return error;
    }
  })();
  const error = await within(loop, 1000, "the loop");
  gate.resolve();
  assert.deepEqual(seen, [1]);
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "after one");
});

// ----- listeners run after the worker's own handling ------------------------------------------

test("'jobCancelled' listeners run after the cancel was handled: the job is no longer active", T, async (t) => {
  const inListener = [];
  const { r, w } = await startPair(t, (w) => {
    w.onJob(blockingHandler().handler);
    w.on("jobCancelled", (m) => {
      inListener.push(["active", w.activeJobs.has(m.jobId)]);
      w.sendJobResponse(m.jobId, { sneaky: true }).then(
        () => inListener.push(["respond", "accepted"]),
        (e) => inListener.push(["respond", e.message]),
      );
    });
  });
  const responses = record(r, "jobResponse");
  const ctx = r.job("w");
  const id = await ctx.started;
  await waitFor(() => w.activeJobs.has(id), { what: "the job running at w" });
  await ctx.cancel("bye");
  await catchError(ctx);
  await waitFor(() => inListener.length === 2 && responses.length >= 1, { what: "listener and response" });
  await quietFor(10); // no second answer
  assert.deepEqual(inListener, [
    ["active", false],
    ["respond", `Worker 'w': no active job '${id}' to respond to`],
  ]);
  assert.equal(responses.length, 1, "one answer only");
  assertMessage(responses[0], { type: "BusJobResponseMessage", jobId: id, status: "cancelled", response: { reason: "bye" } });
});

test("other listeners see the worker's own handling done: deactivated, finished, workerReady, responses", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w").onJob(() => "ok");
  const b = new Worker("b", { active: false });
  const seen = {};
  const runner = await addedRunner(t, [r, w, b]);
  b.on("deactivated", () => (seen.deactivated = [b.active, b.activationArgs]));
  b.on("finished", () => (seen.finished = [runner.registry.has("b"), b.startedAt !== null]));
  r.on("workerReady", (d) => (seen.workerReady = runner.registry.has(d.workerName)));
  let ctx;
  r.on("jobResponse", (m) => (seen.jobResponse = [r.jobGroups.has(m.jobId), ctx.status]));
  r.on("jobCompleted", (d) => (seen.jobCompleted = [r.jobGroups.has(d.jobId), ctx.response]));
  await runner.start();
  await r.watchWorkers("w");
  await r.activateWorker("b", { args: { metadata: { m: 1 } } });
  await waitFor(() => b.active, { what: "b active" });
  await r.deactivateWorker("b");
  ctx = r.job("w");
  assert.equal(await ctx, "ok");
  await b.stop();
  await waitFor(() => Object.keys(seen).length === 5, { what: "every listener" });
  assert.deepEqual(seen, {
    workerReady: true,
    deactivated: [false, null],
    jobResponse: [false, "completed"],
    jobCompleted: [false, "ok"],
    finished: [false, true],
  });
});

test("a late 'cancelled' answer to a job the requester cancelled still fires its 'jobResponse'", T, async (t) => {
  const { r } = await startPair(t, (w) => w.onJob(blockingHandler().handler));
  const responses = record(r, "jobResponse");
  const ctx = r.job("w");
  await ctx.started;
  await ctx.cancel("mine");
  await catchError(ctx);
  const m = await waitFor(() => responses[0], { what: "jobResponse" });
  assertMessage(m, { type: "BusJobResponseMessage", source: "w", target: "r", jobId: ctx.jobId, status: "cancelled" });
  assert.equal(r.jobGroups.size, 0);
});

// ----- on / off / once -------------------------------------------------------------------------

test("off() with a non-function listener throws a TypeError naming 'listener'", T, () => {
  const w = new Worker("w");
  const runner = new WorkerRunner();
  for (const bad of [5, "fn", null, undefined, {}]) {
    const e1 = catchSync(() => w.off("jobRequest", bad));
    assert.ok(e1 instanceof TypeError, `worker.off(…, ${String(bad)})`);
    assert.match(e1.message, /listener/);
    const e2 = catchSync(() => runner.off("ready", bad));
    assert.ok(e2 instanceof TypeError, `runner.off(…, ${String(bad)})`);
    assert.match(e2.message, /listener/);
  }
});

test("a function added with on() and once() keeps its on() registration after the once fired", T, async (t) => {
  const calls = [];
  const f = (job) => calls.push(job.payload);
  const { r } = await startPair(t, (w) => {
    w.onJob(() => "ok");
    w.on("jobRequest", f);
    w.once("jobRequest", f);
  });
  for (const payload of [1, 2, 3]) await r.job("w", { payload });
  await waitFor(() => calls.length >= 4, { what: "listener calls" });
  await quietFor(10); // no fifth call
  assert.deepEqual(calls, [1, 1, 2, 3]);
});

test("once listeners that remove themselves or add listeners while being called", T, async (t) => {
  const calls = [];
  const { r, w } = await startPair(t, (w) => w.onJob(() => "ok"));
  const self = () => {
    calls.push("self");
    w.off("jobRequest", self);
    w.on("jobRequest", () => calls.push("added"));
  };
  w.once("jobRequest", self);
  await r.job("w");
  await r.job("w");
  await waitFor(() => calls.length === 2, { what: "listener calls" });
  await quietFor(10); // no third call
  assert.deepEqual(calls, ["self", "added"]);
});

// ----- re-entrancy -----------------------------------------------------------------------------

test("listeners calling back into the worker and runner synchronously", T, async (t) => {
  const unhandled = trackUnhandledRejections(t);
  const { r, w, runner } = await startPair(t, (w) => w.onJob((job) => job.payload));
  const nested = [];
  const updates = record(r, "jobUpdate");
  r.on("jobResponse", (m) => {
    // Reads and new requests from inside a listener.
    assert.equal(r.jobGroups.has(m.jobId), false);
    runner.registry.entries();
    if (m.response < 3) r.job("w", { payload: m.response + 1 }).then((v) => nested.push(v));
  });
  w.on("jobRequest", (job) => {
    assert.equal(w.activeJobs.get(job.id), job);
    job.update(`seen ${job.payload}`).catch(() => {});
  });
  assert.equal(await r.job("w", { payload: 1 }), 1);
  await waitFor(() => nested.length === 2, { what: "jobs requested from listeners" });
  assert.deepEqual(nested, [2, 3]);
  await waitFor(() => updates.length >= 3 && w.activeJobs.size === 0, { what: "three updates and no active job" });
  assert.deepEqual(
    updates.map((m) => m.update),
    ["seen 1", "seen 2", "seen 3"],
  );
  assert.equal(w.activeJobs.size, 0);
  assert.equal(r.jobGroups.size, 0);
  assert.deepEqual(unhandled, []);
});

test("a handler that cancels its own job through the requester's context", T, async (t) => {
  let ctx;
  let afterCancel;
  const { r, w } = await startPair(t, (w) =>
    w.onJob("self-cancel", async (job) => {
      await ctx.cancel("from the handler");
      afterCancel = job.signal.aborted;
      return "ignored";
    }).onJob("ok", () => "fine"),
  );
  ctx = r.job("w", { name: "self-cancel" });
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "from the handler");
  await waitFor(() => afterCancel !== undefined, { what: "the handler went on" });
  assert.equal(afterCancel, true);
  await waitFor(() => w.activeJobs.size === 0, { what: "no active job" });
  assert.equal(await r.job("w", { name: "ok" }), "fine");
});

test("a handler that answers twice in one turn: the first answer counts, the second rejects", T, async (t) => {
  const errors = [];
  const { r, w } = await startPair(t, (w) =>
    w.onJob((job) => {
      job.respond("one");
      job.respond("two").catch((e) => errors.push(e.message));
      job.streamEnd("three").catch((e) => errors.push(e.message));
      return "four";
    }),
  );
  const responses = record(r, "jobResponse");
  const ctx = r.job("w");
  assert.equal(await ctx, "one");
  await waitFor(() => errors.length === 2, { what: "the refused answers" });
  assert.deepEqual(errors, [
    `Worker 'w': no active job '${ctx.jobId}' to respond to`,
    `Worker 'w': no active job '${ctx.jobId}' to stream`,
  ]);
  await quietFor(10); // no second response
  assert.equal(responses.length, 1);
  assert.equal(w.activeJobs.size, 0);
});

test("a worker requesting jobs from itself (also from inside its own handler)", T, async (t) => {
  const w = new Worker("w");
  w.onJob("inner", (job) => ({ source: job.source, payload: job.payload }));
  w.onJob("outer", async (job) => ({ outer: await w.job("w", { name: "inner", payload: job.payload }) }));
  const runner = await startRunner(t, [w]);
  assert.deepEqual(await w.job("w", { name: "inner", payload: 1 }), { source: "w", payload: 1 });
  assert.deepEqual(await runner.job("w", { name: "outer", payload: 2 }), { outer: { source: "w", payload: 2 } });
  assert.deepEqual(await w.jobGroup(["w"], { name: "inner", payload: 3 }), { w: { source: "w", payload: 3 } });
  assert.equal(w.activeJobs.size, 0);
  assert.equal(w.jobGroups.size, 0);
});

test("a sequential handler waiting on a job of its own name is freed by the timeout", T, async (t) => {
  const w = new Worker("w");
  w.onJob(
    "seq",
    async (job) => (job.payload > 0 ? w.job("w", { name: "seq", payload: job.payload - 1, timeout: 50 }) : "bottom"),
    { sequential: true },
  );
  const runner = await startRunner(t, [w]);
  const err = await catchError(runner.job("w", { name: "seq", payload: 1, timeout: 2000 }));
  assert.equal(err.message, "worker 'w' errored");
  assert.deepEqual(err.response, { error: "timeout" });
  // The queue is free again.
  assert.equal(await runner.job("w", { name: "seq", payload: 0 }), "bottom");
});

test("1000 concurrent jobs with updates, iterated and awaited", T, async (t) => {
  const { r, w } = await startPair(t, (w) =>
    w.onJob(async (job) => {
      await job.update(job.payload);
      return job.payload * 2;
    }),
  );
  const n = 1000;
  const contexts = Array.from({ length: n }, (_, i) => r.job("w", { payload: i }));
  const events = await Promise.all(contexts.map((c) => drain(c)));
  const results = await Promise.all(contexts);
  assert.deepEqual(results, Array.from({ length: n }, (_, i) => i * 2));
  assert.deepEqual(
    events.map((e) => e.map((x) => x.data)),
    Array.from({ length: n }, (_, i) => [i]),
  );
  assert.equal(w.activeJobs.size, 0);
  assert.equal(r.jobGroups.size, 0);
});

test("1000 running jobs are all aborted and rejected by runner.cancel()", T, async (t) => {
  const { worker, jobs } = blockingWorker("w");
  const runner = await startRunner(t, [worker]);
  const contexts = Array.from({ length: 1000 }, () => runner.job("w"));
  await Promise.all(contexts.map((c) => c.started));
  await waitFor(() => jobs.length === 1000, { what: "every handler running" });
  await within(runner.cancel(), 2000, "cancel()");
  const settled = await within(Promise.allSettled(contexts), 2000, "every job");
  assert.equal(settled.filter((s) => s.status === "rejected").length, 1000);
  assert.ok(jobs.every((j) => j.signal.aborted));
});

test("stopping a worker from inside its own handler", T, async (t) => {
  // Not awaited: the handler's answer still goes out, then the worker stops.
  const { r, w, runner } = await startPair(t, (w) =>
    w.onJob("fire", () => {
      w.stop();
      return "answered";
    }).onJob("wait", async () => {
      await w.stop({ gracePeriod: 30 }); // waits for this very handler: ends with the grace period
      return "never delivered";
    }),
  );
  assert.equal(await r.job("w", { name: "fire" }), "answered");
  await within(w.finished, 1000, "w.finished");
  assert.equal(runner.registry.has("w"), false);

  const w2 = new Worker("w2").onJob(async () => {
    await w2.stop({ gracePeriod: 30 });
    return "never delivered";
  });
  await runner.addWorkers(w2);
  const t0 = Date.now();
  const err = await catchError(r.job("w2"));
  assert.equal(err.message, "worker 'w2' stopped");
  assert.ok(Date.now() - t0 < 1000);
  await within(w2.finished, 1000, "w2.finished");
});

test("ending or cancelling the runner from listeners", T, async (t) => {
  // end() from a "jobRequest" listener: the job still completes (graceful).
  const { w, runner } = await startPair(t, (w) => w.onJob(async () => {
    await sleep(10);
    return "done";
  }));
  let ending;
  w.once("jobRequest", () => (ending = runner.end()));
  // The runner's own job: the graceful end lets the handler answer (a job of the stopping worker
  // "r" would fail "worker 'r' stopped").
  assert.equal(await runner.job("w"), "done");
  await within(ending, 1000, "end() called from a listener");
  assert.equal(await isSettled(runner.finished), true);

  // cancel() from a "ready" listener.
  const runner2 = await addedRunner(t, [new Worker("x")]);
  runner2.on("ready", () => runner2.cancel());
  await within(runner2.start(), 1000, "start()");
  await within(runner2.finished, 1000, "finished");

  // end() from a worker's "finished" listener, with autoEnd off.
  const a = new Worker("a");
  const b = new Worker("b");
  const runner3 = await startRunner(t, [a, b], { autoEnd: false });
  a.on("finished", () => runner3.end());
  await a.stop();
  await within(runner3.finished, 1000, "finished");
  assert.equal(await isSettled(b.finished), true);
});

test("registry watchers that register, unwatch and watch while being called", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  const seen = [];
  const second = (d) => {
    seen.push(`second ${d.workerName}`);
  };
  const first = (d) => {
    seen.push(`first ${d.workerName}`);
    reg.unwatch("x", first);
    reg.register({ workerName: "y", runner: "far" });
    reg.watch("x", second);
  };
  await reg.watch("x", first);
  await reg.watch("y", (d) => {
    seen.push(`y watcher ${d.workerName}`);
  });
  assert.equal(await reg.register({ workerName: "x", runner: "far" }), true);
  await waitFor(() => seen.length === 3, { what: "watchers" });
  assert.deepEqual(seen, ["first x", "y watcher y", "second x"]);
  assert.deepEqual(reg.remoteWorkers, ["x", "y"]);
});

test("handlers and onWorkerReady listeners that add workers", T, async (t) => {
  const added = deferred();
  const { r, runner } = await startPair(t, (w) =>
    w.onJob(async () => {
      await runner.addWorkers(new Worker("from-handler").onJob(() => "new one"));
      return runner.registry.has("from-handler");
    }),
  );
  r.onWorkerReady("w", () => r.addWorkers(new Worker("child-of-r")).then(added.resolve, added.reject));
  assert.equal(await r.job("w"), true);
  assert.equal(await r.job("from-handler"), "new one");
  await within(added.promise, 1000, "child added from a listener");
  await waitFor(() => runner.registry.has("child-of-r"), { what: "child ready" });
  assert.equal(runner.getWorker("child-of-r").parent, "r");
});

// ----- lifecycle corners ------------------------------------------------------------------------

test("a job sent to a worker during its graceful stop fails at once; its running handler answers", T, async (t) => {
  const { r, w } = await startPair(t, (w) =>
    w.onJob("slow", async () => {
      await sleep(60);
      return "slow done";
    }).onJob(() => "quick"),
  );
  const running = r.job("w", { name: "slow" });
  await running.started;
  const stopping = w.stop({ gracePeriod: 2000 });
  await sleep(5);
  const t0 = Date.now();
  const err = await catchError(r.job("w", { timeout: 1000 }));
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "worker 'w' stopped");
  assert.ok(Date.now() - t0 < 500, "at once, not after the 2000 ms grace period");
  assert.equal(await running, "slow done");
  await within(stopping, 1000, "stop()");
  const gerr = await catchError(r.jobGroup(["w", "r"], { timeout: 1000 }));
  assert.ok(gerr instanceof JobGroupError);
  assert.equal(gerr.message, "worker 'w' stopped");
});

test("sequential: a queued job cancelled or timed out never runs; a throwing one does not block", T, async (t) => {
  const ran = [];
  const gate = deferred();
  const { r } = await startPair(t, (w) =>
    w.onJob(
      "seq",
      async (job) => {
        ran.push(job.payload);
        if (job.payload === 1) await gate.promise;
        if (job.payload === 4) throw new Error("four");
        return job.payload;
      },
      { sequential: true },
    ),
  );
  const [c1, c2] = await requestInOrder(r, "w", "seq", [1, 2]);
  const c3 = r.job("w", { name: "seq", payload: 3, timeout: 20 });
  await c3.started;
  const [c4, c5] = await requestInOrder(r, "w", "seq", [4, 5]);
  await c2.cancel("not needed");
  assert.equal((await catchError(c3)).message, "timeout");
  gate.resolve();
  assert.equal(await c1, 1);
  assert.equal((await catchError(c2)).message, "not needed");
  assert.equal((await catchError(c4)).message, "worker 'w' errored");
  assert.equal(await c5, 5);
  assert.deepEqual(ran, [1, 4, 5]);
});

test("runner.end({ gracePeriod }) is one deadline for the whole tree", T, async (t) => {
  const p = new Worker("p").onJob(() => new Promise(() => {}));
  const c = new Worker("c").onJob(() => new Promise(() => {}));
  const g = new Worker("g").onJob(() => new Promise(() => {}));
  await p.addWorkers(c);
  await c.addWorkers(g);
  const runner = await startRunner(t, [p]);
  await waitFor(() => runner.registry.has("g"), { what: "grandchild ready" });
  const contexts = ["p", "c", "g"].map((name) => runner.job(name));
  await Promise.all(contexts.map((x) => x.started));
  const t0 = Date.now();
  await within(runner.end({ gracePeriod: 150 }), 2000, "end()");
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 140 && elapsed < 400, `one grace period, not one per level (${elapsed} ms)`);
  for (const [i, ctx] of contexts.entries()) {
    const err = await catchError(ctx);
    assert.ok([`worker '${"pcg"[i]}' stopped`, "runner exiting"].includes(err.message), err.message);
  }
});

test("end() without options gives running handlers the default grace period; cancel() cuts it", T, async (t) => {
  const { runner, ctx, job } = await startBlockedJob(t);
  const ending = runner.end();
  await quietFor(200); // no abort within the grace period
  assert.equal(job.signal.aborted, false, "still within the 5000 ms default");
  assert.equal(await isSettled(ending), false);
  await within(runner.cancel(), 500, "cancel()");
  await within(ending, 500, "end()");
  assert.equal(job.signal.aborted, true);
  await catchError(ctx);
});

test("the handler, the 'jobRequest' listener and activeJobs share one JobRequest object", T, async (t) => {
  let inHandler;
  let inActiveJobs;
  const { r, w } = await startPair(t, (w) =>
    w.onJob((job) => {
      inHandler = job;
      inActiveJobs = w.activeJobs.get(job.id);
      return "ok";
    }),
  );
  const heard = record(w, "jobRequest");
  await r.job("w");
  await waitFor(() => heard.length === 1, { what: "jobRequest" });
  assert.equal(heard[0], inHandler);
  assert.equal(inActiveJobs, inHandler);
});

test("watch, unwatch, watch again: a new watch (fires at once for a known name)", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")], { name: "rw" });
  const reg = runner.registry;
  const calls = [];
  const h = (d) => {
    calls.push(d);
  };
  await reg.watch("a", h);
  await reg.watch("a", h);
  reg.unwatch("a", h);
  await reg.watch("a", h);
  assert.deepEqual(calls, [
    { workerName: "a", runner: "rw" },
    { workerName: "a", runner: "rw" },
  ]);
  const later = [];
  const h2 = (d) => {
    later.push(d.workerName);
  };
  await reg.watch("n", h2);
  reg.unwatch("n", h2);
  await reg.watch("n", h2);
  await reg.watch("n", h2);
  await reg.register({ workerName: "n", runner: "far" });
  assert.deepEqual(later, ["n"]);
});

// ----- requester side ----------------------------------------------------------------------------

test("fire-and-forget requests that fail later cause no unhandled rejection; wait() reports them", T, async (t) => {
  const unhandled = trackUnhandledRejections(t);
  const { r } = await startPair(t, (w) => w.onJob("fail", () => {
    throw new Error("f");
  }).onJob("block", blockingHandler().handler));
  await r.requestJob("w", { name: "fail" });
  await r.requestJobGroup(["w"], { name: "fail" });
  const failed = await r.createJobGroupAndRequestJob(["w"], { name: "fail" });
  const timedOut = await r.createJobGroupAndRequestJob(["w"], { name: "block", timeout: 10 });
  // Every group settled (the fire-and-forget ones too); a rejection nobody handled would be
  // reported by then (waitFor polls across macrotasks).
  await waitFor(() => r.jobGroups.size === 0, { timeout: 2000, what: "every group to settle" });
  assert.deepEqual(unhandled, []);
  assert.equal(failed.isDone, true);
  assert.equal(timedOut.isDone, true);
  const e1 = await catchError(failed.wait());
  assert.ok(e1 instanceof JobGroupError);
  assert.equal(e1.message, "worker 'w' errored");
  assert.deepEqual(e1.responses, { w: { error: "f" } });
  const e2 = await catchError(timedOut.wait());
  assert.ok(e2 instanceof JobGroupError);
  assert.equal(e2.message, "timeout");
  assert.equal(r.jobGroups.size, 0);
});

test("createJobGroupAndRequestJob with a signal: aborting cancels the group", T, async (t) => {
  const { r } = await startPair(t, (w) => w.onJob(blockingHandler().handler));
  const controller = new AbortController();
  const group = await r.createJobGroupAndRequestJob(["w"], { signal: controller.signal });
  assert.equal(r.jobGroups.has(group.jobId), true);
  controller.abort("stop it");
  const err = await catchError(group.wait());
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.message, "stop it");
  assert.equal(group.isDone, true);
  const pre = await catchError(r.createJobGroupAndRequestJob(["w"], { signal: AbortSignal.abort("pre") }));
  assert.ok(pre instanceof JobGroupError);
  assert.equal(pre.message, "pre");
  assert.equal(r.jobGroups.size, 0);
});

test("handlers throwing non-Error values answer error with { error: String(value) }", T, async (t) => {
  const { r } = await startPair(t, (w) => {
    w.onJob("undefined", () => {
      throw undefined;
    });
    w.onJob("null", () => {
      throw null;
    });
    w.onJob("number", () => {
      throw 42;
    });
    w.onJob("object", () => {
      throw { message: "an object" };
    });
    w.onJob("rejected", () => Promise.reject(undefined));
    w.onJob("thenable", () => ({ then: (resolve) => resolve("from a thenable") }));
  });
  const answers = {};
  for (const name of ["undefined", "null", "number", "object", "rejected"]) {
    const err = await catchError(r.job("w", { name, timeout: 1000 }));
    assert.equal(err.message, "worker 'w' errored", name);
    answers[name] = err.response;
  }
  assert.deepEqual(answers, {
    undefined: { error: "undefined" },
    null: { error: "null" },
    number: { error: "42" },
    object: { error: "an object" },
    rejected: { error: "undefined" },
  });
  assert.equal(await r.job("w", { name: "thenable" }), "from a thenable");
});

// ----- bad input ---------------------------------------------------------------------------------

/** `fn()` throws (or, for async methods, rejects with) a TypeError whose message matches `re`. */
async function typeErrorFrom(fn, re, label) {
  let result;
  try {
    result = fn();
  } catch (error) {
    assert.ok(error instanceof TypeError, `${label}: expected a TypeError, got ${error}`);
    assert.match(error.message, re, label);
    return "throws";
  }
  assert.ok(result && typeof result.then === "function", `${label}: neither threw nor returned a promise`);
  const error = await catchError(result);
  assert.ok(error instanceof TypeError, `${label}: expected a TypeError, got ${error}`);
  assert.match(error.message, re, label);
  return "rejects";
}

test("bad input, systematically: every constructor, method and option field of the API", T, async (t) => {
  const { r, w, runner } = await startPair(t, (w) => w.onJob("hold", blockingHandler().handler).onJob((job) => job.payload));
  const held = r.job("w", { name: "hold" });
  await held.started;
  const job = await waitFor(() => w.activeJobs.get(held.jobId), { what: "the held job" });
  const spare = () => new WorkerRunner();
  const sync = {
    "new WorkerRunner(5)": [() => new WorkerRunner(5), /options/],
    "new WorkerRunner({ name: '' })": [() => new WorkerRunner({ name: "" }), /name/],
    "new WorkerRunner({ name: null })": [() => new WorkerRunner({ name: null }), /name/],
    "new WorkerRunner({ bus: {} })": [() => new WorkerRunner({ bus: {} }), /bus/],
    "new Worker('')": [() => new Worker(""), /name/],
    "new Worker('x', 5)": [() => new Worker("x", 5), /options/],
    "new Worker('x', { active: null })": [() => new Worker("x", { active: null }), /active/],
    "new WorkerRegistry(5)": [() => new WorkerRegistry(5), /runnerName/],
    "runner.on(5, f)": [() => runner.on(5, () => {}), /event/],
    "runner.once('error', null)": [() => runner.once("error", null), /listener/],
    "runner.off('nope', f)": [() => runner.off("nope", () => {}), /event/],
    "worker.off('nope', f)": [() => w.off("nope", () => {}), /event/],
    "runner.getWorker()": [() => runner.getWorker(), /name/],
    "job('')": [() => r.job(""), /workerName/],
    "job params 'x'": [() => r.job("w", "x"), /params/],
    "job params []": [() => r.job("w", []), /params/],
    "job label 5": [() => r.job("w", { label: 5 }), /label/],
    "job signal 5": [() => r.job("w", { signal: 5 }), /signal/],
    "job cancellable null": [() => r.job("w", { cancellable: null }), /cancellable/],
    "job timeout -0.5": [() => r.job("w", { timeout: -0.5 }), /timeout/],
    "runner.job timeout Infinity": [() => runner.job("w", { timeout: Infinity }), /timeout/],
    "jobGroup([''])": [() => r.jobGroup([""]), /workerNames/],
    "jobGroup(Set)": [() => r.jobGroup(new Set(["w"])), /workerNames/],
    "jobGroup params 5": [() => runner.jobGroup(["w"], 5), /params/],
    "jobGroup label 1": [() => runner.jobGroup(["w"], { label: 1 }), /label/],
    "onJob('')": [() => new Worker("q").onJob("", () => {}), /jobName/],
    "onJob('x')": [() => new Worker("q").onJob("x"), /handler/],
    "onJob(f, 5)": [() => new Worker("q").onJob(() => {}, 5), /options/],
    "onJob('x', f, 5)": [() => new Worker("q").onJob("x", () => {}, 5), /options/],
    "onWorkerReady('', f)": [() => w.onWorkerReady("", () => {}), /workerName/],
    "registry.unwatch('a', 5)": [() => runner.registry.unwatch("a", 5), /handler/],
    "registry.get()": [() => runner.registry.get(), /name/],
    "WorkerActivationArgs.fromDict([])": [() => WorkerActivationArgs.fromDict([]), /obj/],
    "new WorkerActivationArgs(5)": [() => new WorkerActivationArgs(5), /init/],
    "LLMWorkerActivationArgs.fromDict({ run_llm: 'yes' })": [() => LLMWorkerActivationArgs.fromDict({ run_llm: "yes" }), /run_?[lL]lm/],
    "new LLMWorkerActivationArgs({ runLlm: 1 })": [() => new LLMWorkerActivationArgs({ runLlm: 1 }), /runLlm/],
    "setLogger(5)": [() => setLogger(5), /logger/],
  };
  const asyncCalls = {
    "runner.addWorkers(worker, 5)": [() => runner.addWorkers(new Worker("zz"), 5), /workers/],
    "start(5)": [() => spare().start(5), /options/],
    "run({ autoEnd: 1 })": [() => spare().run({ autoEnd: 1 }), /autoEnd/],
    "end(5)": [() => spare().end(5), /options/],
    "end({ reason: 5 })": [() => spare().end({ reason: 5 }), /reason/],
    "end({ gracePeriod: '1' })": [() => spare().end({ gracePeriod: "1" }), /gracePeriod/],
    "end({ gracePeriod: Infinity })": [() => spare().end({ gracePeriod: Infinity }), /gracePeriod/],
    "cancel(5)": [() => spare().cancel(5), /options/],
    "cancel({ reason: 5 })": [() => spare().cancel({ reason: 5 }), /reason/],
    "ctx.cancel(5)": [() => held.cancel(5), /reason/],
    "sendJobResponse options 5": [() => w.sendJobResponse(job.id, 1, 5), /options/],
    "sendJobResponse urgent 1": [() => w.sendJobResponse(job.id, 1, { urgent: 1 }), /urgent/],
    "sendJobUpdate options 5": [() => w.sendJobUpdate(job.id, 1, 5), /options/],
    "sendJobUpdate urgent 1": [() => w.sendJobUpdate(job.id, 1, { urgent: 1 }), /urgent/],
    "job.update urgent 'y'": [() => job.update(1, { urgent: "y" }), /urgent/],
    "job.respond options 5": [() => job.respond(1, 5), /options/],
    "job.respond urgent 1": [() => job.respond(1, { urgent: 1 }), /urgent/],
    "job.respond status 'done'": [() => job.respond(1, { status: "done" }), /status/],
    "sendBusErrorMessage()": [() => w.sendBusErrorMessage(), /error/],
    "requestJob('')": [() => r.requestJob(""), /workerName/],
    "requestJob label 1": [() => r.requestJob("w", { label: 1 }), /label/],
    "requestJobGroup cancelOnError 1": [() => r.requestJobGroup(["w"], { cancelOnError: 1 }), /cancelOnError/],
    "createJobGroupAndRequestJob signal 1": [() => r.createJobGroupAndRequestJob(["w"], { signal: 1 }), /signal/],
    "createJobGroupAndRequestJob(['w', 'w'])": [() => r.createJobGroupAndRequestJob(["w", "w"]), /workerNames/],
    "createJobGroupAndRequestJob params 5": [() => r.createJobGroupAndRequestJob(["w"], 5), /params/],
    "cancelJobGroup reason 5": [() => r.cancelJobGroup(held.jobId, 5), /reason/],
    "requestCancelJobGroup reason 5": [() => r.requestCancelJobGroup(held.jobId, 5), /reason/],
    "requestJobUpdate()": [() => r.requestJobUpdate(), /jobId/],
    "worker.addWorkers(5)": [() => r.addWorkers(5), /workers|children/],
    "watchWorkers('')": [() => r.watchWorkers(""), /names/],
    "watchWorkers(['a'])": [() => r.watchWorkers(["a"]), /names/],
    "activateWorker('')": [() => r.activateWorker(""), /name/],
    "activateWorker options 5": [() => r.activateWorker("w", 5), /options/],
    "activateWorker deactivateSelf 1": [() => r.activateWorker("w", { deactivateSelf: 1 }), /deactivateSelf/],
    "activateWorker args []": [() => r.activateWorker("w", { args: [] }), /args/],
    "deactivateWorker()": [() => r.deactivateWorker(), /name/],
    "stop(5)": [() => new Worker("s").stop(5), /options/],
    "stop({ reason: 5 })": [() => r.stop({ reason: 5 }), /reason/],
    "stop({ gracePeriod: NaN })": [() => r.stop({ gracePeriod: NaN }), /gracePeriod/],
    "endSession(5)": [() => r.endSession(5), /options/],
    "endSession({ reason: 5 })": [() => r.endSession({ reason: 5 }), /reason/],
    "cancelSession(5)": [() => r.cancelSession(5), /options/],
    "cancelSession({ reason: 5 })": [() => r.cancelSession({ reason: 5 }), /reason/],
    "registry.register({ workerName: 'a' })": [() => runner.registry.register({ workerName: "a" }), /runner/],
    "registry.register(5)": [() => runner.registry.register(5), /data/],
    "registry.watch(5, f)": [() => runner.registry.watch(5, () => {}), /name/],
  };
  for (const [label, [fn, re]] of Object.entries(sync)) {
    assert.equal(await typeErrorFrom(fn, re, label), "throws", `${label} is synchronous: it throws`);
  }
  for (const [label, [fn, re]] of Object.entries(asyncCalls)) {
    assert.equal(await typeErrorFrom(fn, re, label), "rejects", `${label} is asynchronous: it rejects`);
  }
  // Nothing broke and nothing was left pending: the held job is still the only one.
  await quietFor(10);
  assert.deepEqual([...r.jobGroups.keys()], [held.jobId]);
  assert.deepEqual([...w.activeJobs.keys()], [held.jobId]);
  assert.deepEqual(runner.registry.localWorkers, ["r", "w"]);
  assert.equal(await r.job("w", { payload: "still" }), "still");
  assert.equal(await runner.job("w", { payload: "fine" }), "fine");
  await job.respond("released");
  assert.equal(await held, "released");
});

test("activation args: fromDict needs an object; metadata an object, messages an array", T, () => {
  for (const [label, fn, re] of [
    ["WorkerActivationArgs.fromDict(null)", () => WorkerActivationArgs.fromDict(null), /obj/],
    ["WorkerActivationArgs.fromDict()", () => WorkerActivationArgs.fromDict(), /obj/],
    ["LLMWorkerActivationArgs.fromDict(null)", () => LLMWorkerActivationArgs.fromDict(null), /obj/],
    ["WorkerActivationArgs.fromDict({ metadata: 5 })", () => WorkerActivationArgs.fromDict({ metadata: 5 }), /metadata/],
    ["LLMWorkerActivationArgs.fromDict({ metadata: 'x' })", () => LLMWorkerActivationArgs.fromDict({ metadata: "x" }), /metadata/],
    ["LLMWorkerActivationArgs.fromDict({ messages: 5 })", () => LLMWorkerActivationArgs.fromDict({ messages: 5 }), /messages/],
  ]) {
    let error;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof TypeError, `${label}: expected a TypeError, got ${error}`);
    assert.match(error.message, re, label);
  }
});

// ----- loads -------------------------------------------------------------------------------------

test("a group of 300 workers, and 300 workers on one runner", T, async (t) => {
  const names = Array.from({ length: 300 }, (_, i) => `m${i}`);
  const runner = await startRunner(t, names.map((n, i) => new Worker(n).onJob(() => i)));
  const t0 = Date.now();
  const responses = await within(runner.jobGroup(names), 3000, "the group of 300");
  assert.deepEqual(responses, Object.fromEntries(names.map((n, i) => [n, i])));
  t.diagnostic(`group of 300: ${Date.now() - t0} ms`);
  assert.deepEqual(await Promise.all(names.map((n) => runner.job(n))), names.map((_, i) => i));
});

test("a chain of 200 workers each asking the next", T, async (t) => {
  const n = 200;
  const workers = Array.from({ length: n }, (_, i) => {
    const w = new Worker(`c${i}`);
    return w.onJob(async () => (i === n - 1 ? 0 : 1 + (await w.job(`c${i + 1}`))));
  });
  const runner = await startRunner(t, workers);
  assert.equal(await within(runner.job("c0"), 3000, "the chain"), n - 1);
});
