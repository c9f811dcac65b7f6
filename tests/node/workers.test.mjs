// Workers: properties, parent/child trees, watchWorkers/onWorkerReady, sendBusErrorMessage,
// worker.stop().
//
// Assumptions (readings of the contract where it is not explicit):
// - `parent.addWorkers(child)` sets `child.parent` and `parent.children` by the time it resolves,
//   even before the parent is attached to a runner.
// - A parent gets "workerReady" for each child it added (addWorkers "also watches them"), and
//   `watchWorkers` on a name that is already ready fires "workerReady" right away (registry watch
//   semantics).
// - With `runner.end()`, a parent stops its children first, so each child's "finished" comes
//   before its parent's.
// - `addWorkers` rejecting (a child that already has a parent) rejects with an `Error`; the
//   message is not specified.
// - `worker.stop()` of a worker that requested jobs fails its open jobs with
//   "worker '<requester>' stopped" (Pipecat's stop() cancels the worker's groups with that
//   reason), and the workers handling them see their signal abort; a group still waiting for
//   readiness fails the same way.
// - A job failing because its worker stopped mid-job carries that worker's answer:
//   `workerName` = the worker, `status` = "cancelled".
// - Object identity is kept: `worker.children` holds the very Worker objects that were added,
//   `child.runner === runner`.
// - A stopped worker leaves the registry of its runner and its children stop with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner, JobError } from "workbus";
import { T, sleep, quietFor, deferred, within, startRunner } from "./helpers.mjs";
import { catchError, waitFor, isSettled, record, blockingWorker } from "./helpers.mjs";

test("a new worker's properties", T, async () => {
  const w = new Worker("props");
  assert.equal(w.name, "props");
  assert.equal(w.active, true);
  assert.equal(w.activationArgs, null);
  assert.equal(w.parent, null);
  assert.deepEqual([...w.children], []);
  assert.equal(w.startedAt, null);
  assert.equal(w.runner, null);
  assert.equal(w.registry, null);
  assert.equal(w.activeJobs.size, 0);
  assert.equal(w.jobGroups.size, 0);
  assert.ok(w.finished instanceof Promise);
  assert.equal(await isSettled(w.finished), false);
  assert.equal(new Worker("x", {}).active, true);
  assert.equal(new Worker("y", { active: true }).active, true);
});

test("a child added before the runner starts is kept and hosted", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c").onJob((job) => ({ child: true, source: job.source }));
  assert.equal(await p.addWorkers(c), undefined);
  assert.equal(c.parent, "p");
  assert.deepEqual([...p.children], [c]);
  const ready = record(p, "workerReady");
  const runner = await startRunner(t, [p], { name: "tree" });
  assert.deepEqual(await runner.job("c"), { child: true, source: "tree" });
  assert.deepEqual(await p.job("c"), { child: true, source: "p" });
  assert.equal(c.runner, runner);
  assert.equal(c.registry, runner.registry);
  assert.equal(runner.registry.has("c"), true);
  await waitFor(() => ready.length === 1, { what: "workerReady for c" });
  assert.deepEqual(ready, [{ workerName: "c", runner: "tree" }]);
});

test("a child added after the runner started", T, async (t) => {
  const p = new Worker("p");
  const ready = record(p, "workerReady");
  const runner = await startRunner(t, [p], { name: "tree2" });
  const c = new Worker("c").onJob(() => "child here");
  await p.addWorkers(c);
  assert.equal(c.parent, "p");
  assert.deepEqual([...p.children], [c]);
  await waitFor(() => ready.length === 1, { what: "workerReady for c" });
  assert.deepEqual(ready, [{ workerName: "c", runner: "tree2" }]);
  assert.equal(await runner.job("c"), "child here");
  const entry = runner.registry.entries().find((e) => e.name === "c");
  assert.equal(entry.parent, "p");

  // A grandchild.
  const g = new Worker("g").onJob(() => "grandchild here");
  await c.addWorkers(g);
  assert.equal(g.parent, "c");
  assert.equal(await p.job("g"), "grandchild here");
});

test("a worker that already has a parent cannot be added again", T, async (t) => {
  const p = new Worker("p");
  const q = new Worker("q");
  const c = new Worker("c");
  await p.addWorkers(c);
  await assert.rejects(q.addWorkers(c), Error);
  assert.equal(c.parent, "p");
  assert.deepEqual([...q.children], []);
  await startRunner(t, [p, q]);
  const c2 = new Worker("c2");
  await p.addWorkers(c2);
  await assert.rejects(q.addWorkers(c2), Error);
  assert.equal(c2.parent, "p");
});

test("runner.cancel() propagates to children: their handlers abort, they finish", T, async (t) => {
  const p = new Worker("p");
  const { worker: c, started } = blockingWorker("c");
  await p.addWorkers(c);
  const finished = [];
  p.on("finished", () => finished.push("p"));
  c.on("finished", () => finished.push("c"));
  const runner = await startRunner(t, [p]);
  const ctx = runner.job("c");
  ctx.then(undefined, () => {}); // PromiseLike: no .catch
  const job = await started;
  await within(runner.cancel(), 1000, "cancel()");
  assert.equal(job.signal.aborted, true);
  assert.equal(await isSettled(c.finished), true);
  assert.equal(await isSettled(p.finished), true);
  await waitFor(() => finished.length === 2, { what: "finished events" });
  assert.deepEqual([...finished].sort(), ["c", "p"]);
});

test("runner.end() propagates to children; children finish before their parent", T, async (t) => {
  const p = new Worker("p");
  const c1 = new Worker("c1");
  const c2 = new Worker("c2");
  const order = [];
  c1.onJob(async () => {
    await sleep(30);
    return "c1 done";
  });
  await p.addWorkers(c1, c2);
  for (const w of [p, c1, c2]) w.finished.then(() => order.push(w.name));
  const runner = await startRunner(t, [p]);
  const ctx = runner.job("c1");
  await waitFor(() => c1.activeJobs.size === 1, { what: "c1 running its job" });
  await within(runner.end({ gracePeriod: 1000 }), 1000, "end()");
  assert.equal(await ctx, "c1 done");
  await waitFor(() => order.length === 3, { what: "every worker finished" });
  assert.equal(order[2], "p", `parent finishes last: ${order}`);
});

test("a child's sendBusErrorMessage reaches the parent's 'workerFailed'", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c");
  await p.addWorkers(c);
  const failed = record(p, "workerFailed");
  const other = new Worker("other");
  const otherFailed = record(other, "workerFailed");
  await startRunner(t, [p, other]);
  await waitFor(() => c.startedAt !== null, { what: "child started" });
  assert.equal(await c.sendBusErrorMessage("x"), undefined);
  await waitFor(() => failed.length === 1, { what: "workerFailed" });
  assert.deepEqual(failed, [{ workerName: "c", error: "x" }]);
  await quietFor(10);
  assert.deepEqual(otherFailed, [], "only the parent is told");
});

test("a root's sendBusErrorMessage is a broadcast nobody treats as a child failure", T, async (t) => {
  const root = new Worker("root");
  const watcher = new Worker("watcher");
  const failed = record(watcher, "workerFailed");
  const seen = [];
  watcher.on("busMessage", (m) => {
    if (m.type === "BusWorkerErrorMessage") seen.push(m);
  });
  await startRunner(t, [root, watcher]);
  await root.sendBusErrorMessage("root trouble");
  await waitFor(() => seen.length === 1, { what: "BusWorkerErrorMessage" });
  assert.equal(seen[0].source, "root");
  assert.equal(seen[0].target, null);
  assert.equal(seen[0].error, "root trouble");
  assert.deepEqual(failed, []);
});

test("watchWorkers fires 'workerReady' when each name becomes ready (at once if ready)", T, async (t) => {
  const a = new Worker("a");
  const ready = record(a, "workerReady");
  const runner = await startRunner(t, [a, new Worker("early")], { name: "wr" });
  assert.equal(await a.watchWorkers("late1", "late2"), undefined);
  await quietFor(10);
  assert.deepEqual(ready, []);
  await runner.addWorkers(new Worker("late2"));
  await waitFor(() => ready.length === 1, { what: "late2 ready" });
  await runner.addWorkers(new Worker("late1"));
  await waitFor(() => ready.length === 2, { what: "late1 ready" });
  assert.deepEqual(ready, [
    { workerName: "late2", runner: "wr" },
    { workerName: "late1", runner: "wr" },
  ]);
  await a.watchWorkers("early");
  await waitFor(() => ready.length === 3, { what: "early (already ready)" });
  assert.deepEqual(ready[2], { workerName: "early", runner: "wr" });
  // A remote registration counts too.
  await a.watchWorkers("far");
  await runner.registry.register({ workerName: "far", runner: "remote-r" });
  await waitFor(() => ready.length === 4, { what: "far ready" });
  assert.deepEqual(ready[3], { workerName: "far", runner: "remote-r" });
});

test("onWorkerReady: before start, after start, at once if ready; returns this", T, async (t) => {
  const a = new Worker("a");
  const calls = [];
  assert.equal(
    a.onWorkerReady("b", (d) => calls.push(["pre-start b", d])),
    a,
  );
  const runner = await startRunner(t, [a, new Worker("b")], { name: "owr" });
  await waitFor(() => calls.length === 1, { what: "listener registered before start" });
  assert.deepEqual(calls[0], ["pre-start b", { workerName: "b", runner: "owr" }]);

  // Already ready: fires at once.
  a.onWorkerReady("b", (d) => calls.push(["post-start b", d]));
  await waitFor(() => calls.length === 2, { what: "listener on a ready worker" });
  assert.deepEqual(calls[1], ["post-start b", { workerName: "b", runner: "owr" }]);

  // Not yet ready: fires when it registers.
  a.onWorkerReady("c", (d) => calls.push(["c", d]));
  await quietFor(10);
  assert.equal(calls.length, 2);
  await runner.addWorkers(new Worker("c"));
  await waitFor(() => calls.length === 3, { what: "listener for c" });
  assert.deepEqual(calls[2], ["c", { workerName: "c", runner: "owr" }]);
});

test("worker.stop() stops just that worker; jobs sent to it afterwards fail 'worker '<w>' stopped'", T, async (t) => {
  const a = new Worker("a").onJob(() => "a ok");
  const w = new Worker("w").onJob(() => "w ok");
  const finishedArgs = [];
  w.on("finished", (...args) => finishedArgs.push(args));
  const runner = await startRunner(t, [a, w]);
  assert.equal(await a.job("w"), "w ok");
  assert.equal(await within(w.stop(), 1000, "stop()"), undefined);
  assert.equal(await isSettled(w.finished), true);
  await waitFor(() => finishedArgs.length === 1, { what: "finished event" });
  assert.deepEqual(finishedArgs, [[]]);
  assert.equal(runner.registry.has("w"), false, "a stopped worker leaves the registry");
  assert.equal(await isSettled(runner.finished), false, "the runner keeps running");
  assert.equal(await isSettled(a.finished), false);

  const err = await catchError(a.job("w", { timeout: 1000 }));
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "worker 'w' stopped");
  assert.equal(err.reason, "worker 'w' stopped");
  const err2 = await catchError(runner.job("w", { timeout: 1000 }));
  assert.equal(err2.message, "worker 'w' stopped");
  assert.equal(await runner.job("a"), "a ok");
  // Stopping again is harmless.
  await within(w.stop(), 500, "second stop()");
});

test("worker.stop() with a grace period lets a running handler answer", T, async (t) => {
  const a = new Worker("a");
  const w = new Worker("w");
  const inHandler = deferred();
  w.onJob(async () => {
    inHandler.resolve();
    await sleep(30);
    return { late: "but in time" };
  });
  await startRunner(t, [a, w]);
  const ctx = a.job("w");
  await inHandler.promise;
  const stopping = w.stop({ gracePeriod: 1000 });
  assert.deepEqual(await ctx, { late: "but in time" });
  await within(stopping, 1000, "stop()");
});

test("worker.stop() aborts a handler that outlives the grace period; the requester gets 'stopped'", T, async (t) => {
  const a = new Worker("a");
  const { worker: w, started } = blockingWorker("w");
  await startRunner(t, [a, w]);
  const ctx = a.job("w");
  const job = await started;
  await within(w.stop({ gracePeriod: 20, reason: "maintenance" }), 1000, "stop()");
  assert.equal(job.signal.aborted, true);
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "worker 'w' stopped");
  assert.equal(err.status, "cancelled");
  assert.equal(err.workerName, "w");
  assert.equal(err.jobId, ctx.jobId);
});

test("a stopping worker fails the jobs it requested with 'worker '<w>' stopped'", T, async (t) => {
  const a = new Worker("a");
  const { worker: w, started } = blockingWorker("w");
  await startRunner(t, [a, w]);
  const ctx = a.job("w");
  const group = a.jobGroup(["w", "ghost"]);
  const job = await started;
  await a.stop();
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "worker 'a' stopped");
  const gerr = await catchError(group);
  assert.equal(gerr.message, "worker 'a' stopped");
  await waitFor(() => job.signal.aborted, { what: "w's handler aborted" });
  assert.equal(a.jobGroups.size, 0);
});

test("stopping a parent stops its children", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c");
  const other = new Worker("other");
  await p.addWorkers(c);
  const runner = await startRunner(t, [p, other]);
  await waitFor(() => runner.registry.has("c"), { what: "c ready" });
  await within(p.stop(), 1000, "p.stop()");
  assert.equal(await isSettled(c.finished), true);
  assert.equal(await isSettled(other.finished), false);
  assert.equal(runner.registry.has("c"), false);
});

test("worker.finished resolves when the runner ends; a standalone runner's workers list", T, async () => {
  const w1 = new Worker("w1");
  const w2 = new Worker("w2");
  const runner = new WorkerRunner();
  await runner.addWorkers(w1, w2);
  await runner.start();
  assert.equal(runner.getWorker("w1"), w1);
  await runner.cancel();
  assert.equal(await isSettled(w1.finished), true);
  assert.equal(await isSettled(w2.finished), true);
});
