// WorkerRunner: construction, start/run/finished, autoEnd, end/cancel, addWorkers, getWorker,
// "ready", runner.job / runner.jobGroup, pending work across start.
//
// Assumptions (readings of the contract where it is not explicit):
// - A job still running when the grace period of `runner.end()` runs out, or when
//   `runner.cancel()` is called, rejects the runner's own context with either "runner exiting" or
//   "worker '<w>' stopped" (the API contract: "'worker '<w>' stopped' if the worker answered, else
//   'runner exiting'"; which one wins is a race the contract leaves open). A job the runner
//   requested that is still waiting for readiness always rejects "runner exiting".
// - `runner.getWorker(name)` also finds child workers (the runner hosts them).
// - `runner.addWorkers` rejects with an `Error` for a duplicate name or a worker hosted by another
//   runner; the message is not specified, so only the class is checked.
// - The "ready" listener is called (with no argument) once, at the latest shortly after
//   `start()` resolves.
// - `runner.end("bye")` sends Pipecat's `BusEndWorkerMessage` with reason "bye" to root workers,
//   and their "busMessage" listeners see it.
// - `cancel()` and `end()` on a runner that has already finished resolve at once.
// - Object identity is kept across the API: `runner.getWorker(name)` returns the very Worker
//   that was added, `worker.runner === runner`, `worker.registry === runner.registry`.
// - `new WorkerRunner()` without a bus gets its own new `LocalBus` (`instanceof LocalBus`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerRunner, Worker, LocalBus, WorkerRegistry, JobError } from "workbus";
import { T, UUID, sleep, quietFor, deferred, within, cancelAfter } from "./helpers.mjs";
import { addedRunner, startRunner, catchError, waitFor, isSettled, startBlockedJob } from "./helpers.mjs";

const STOPPED_OR_EXITING = (w) => [`worker '${w}' stopped`, "runner exiting"];

test("default name is runner-<8 hex>; name option; registry; bus", T, async () => {
  const r1 = new WorkerRunner();
  const r2 = new WorkerRunner();
  assert.match(r1.name, /^runner-[0-9a-f]{8}$/);
  assert.match(r2.name, /^runner-[0-9a-f]{8}$/);
  assert.notEqual(r1.name, r2.name);
  assert.ok(r1.registry instanceof WorkerRegistry);
  assert.equal(r1.registry.runnerName, r1.name);
  assert.ok(r1.bus instanceof LocalBus, "the default bus is a new LocalBus");
  assert.notEqual(r1.bus, r2.bus, "each runner gets its own default bus");

  const bus = new LocalBus();
  const r3 = new WorkerRunner({ name: "named", bus });
  assert.equal(r3.name, "named");
  assert.equal(r3.bus, bus, "runner.bus is the very object passed in");
  assert.equal(r3.registry.runnerName, "named");
  const r4 = new WorkerRunner({});
  assert.match(r4.name, /^runner-[0-9a-f]{8}$/);
});

test("start resolves once workers started; finished resolves when every root finished (autoEnd)", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b");
  const runner = await addedRunner(t, [a, b]);
  assert.equal(a.runner, runner);
  assert.equal(a.registry, runner.registry);
  assert.equal(a.startedAt, null);
  const before = Date.now();
  const started = runner.start();
  assert.equal(await started, undefined);
  assert.equal(typeof a.startedAt, "number");
  assert.ok(a.startedAt >= before - 1 && a.startedAt <= Date.now() + 1, "startedAt is epoch ms");
  assert.deepEqual([...runner.registry.localWorkers].sort(), ["a", "b"]);

  assert.equal(await isSettled(runner.finished), false);
  await a.stop();
  await quietFor(20);
  assert.equal(await isSettled(runner.finished), false, "b is still running");
  await b.stop();
  await within(runner.finished, 1000, "runner.finished");
});

test("run() starts and resolves when the runner has finished", T, async (t) => {
  const w = new Worker("w").onJob(() => ({ ok: true }));
  const runner = await addedRunner(t, [w]);
  let runDone = false;
  const running = runner.run().then(() => {
    runDone = true;
  });
  assert.deepEqual(await runner.job("w"), { ok: true });
  assert.equal(runDone, false);
  await w.stop();
  await within(running, 1000, "run()");
  assert.equal(runDone, true);
  assert.equal(await isSettled(runner.finished), true);
});

test("autoEnd: false keeps the runner up until end()", T, async (t) => {
  const w = new Worker("w");
  const runner = await startRunner(t, [w], { autoEnd: false });
  await w.stop();
  await quietFor(30);
  assert.equal(await isSettled(runner.finished), false);
  const ended = runner.end();
  await within(ended, 1000, "end()");
  assert.equal(await isSettled(runner.finished), true);
});

test("a runner with no workers never ends by itself", T, async (t) => {
  const runner = await startRunner(t, []);
  await quietFor(40);
  assert.equal(await isSettled(runner.finished), false);
  await within(runner.cancel(), 1000, "cancel()");
  assert.equal(await isSettled(runner.finished), true);
});

test("run() with no workers stays up until cancel", T, async () => {
  const runner = new WorkerRunner();
  const running = runner.run();
  await quietFor(30);
  assert.equal(await isSettled(running), false);
  await runner.cancel();
  await within(running, 1000, "run()");
});

test("end and cancel resolve when finished; repeated calls are harmless", T, async (t) => {
  const runner = await startRunner(t, [new Worker("w")]);
  await runner.end();
  assert.equal(await isSettled(runner.finished), true);
  await within(runner.end(), 500, "second end()");
  await within(runner.cancel(), 500, "cancel() after end()");
});

test("graceful end lets a running handler finish; its response reaches the requester", T, async (t) => {
  const w = new Worker("w");
  const inHandler = deferred();
  let signal;
  w.onJob(async (job) => {
    signal = job.signal;
    inHandler.resolve();
    await sleep(40);
    return { finished: true };
  });
  const finishedEvents = [];
  w.on("finished", () => finishedEvents.push("w"));
  const runner = await startRunner(t, [w]);
  const ctx = runner.job("w");
  await inHandler.promise;
  const t0 = Date.now();
  const ended = runner.end({ gracePeriod: 2000 });
  assert.deepEqual(await ctx, { finished: true });
  await within(ended, 1000, "end()");
  assert.ok(Date.now() - t0 < 1000, "end did not wait for the whole grace period");
  assert.equal(signal.aborted, false);
  assert.deepEqual(finishedEvents, ["w"]);
  assert.equal(await isSettled(w.finished), true);
});

test("end: a handler still running after the grace period is aborted", T, async (t) => {
  const { runner, ctx, job } = await startBlockedJob(t);
  const t0 = Date.now();
  await within(runner.end({ gracePeriod: 30 }), 1000, "end()");
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 25, `end waited for the grace period (${elapsed} ms)`);
  assert.equal(job.signal.aborted, true);
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.ok(STOPPED_OR_EXITING("w").includes(err.message), err.message);
});

test("cancel() aborts running handlers at once", T, async (t) => {
  const { runner, ctx, job } = await startBlockedJob(t);
  const t0 = Date.now();
  await within(runner.cancel(), 1000, "cancel()");
  assert.ok(Date.now() - t0 < 500);
  assert.equal(job.signal.aborted, true);
  assert.equal(await isSettled(runner.finished), true);
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.ok(STOPPED_OR_EXITING("w").includes(err.message), err.message);
});

test("cancel() during end() aborts at once", T, async (t) => {
  const w = new Worker("w");
  let signal;
  const inHandler = deferred();
  w.onJob(async (job) => {
    signal = job.signal;
    inHandler.resolve();
    await new Promise(() => {}); // ignores its signal and never settles
  });
  const runner = await startRunner(t, [w]);
  const ctx = runner.job("w");
  ctx.then(
    () => {},
    () => {},
  );
  await inHandler.promise;
  const ending = runner.end({ gracePeriod: 5000 });
  await quietFor(20);
  assert.equal(await isSettled(ending), false, "end waits for the handler");
  const t0 = Date.now();
  await within(runner.cancel(), 1000, "cancel()");
  assert.ok(Date.now() - t0 < 500);
  assert.equal(signal.aborted, true);
  await within(ending, 500, "the end() in progress");
  assert.equal(await isSettled(runner.finished), true);
});

test("jobs the runner requested that are still pending reject with 'runner exiting'", T, async (t) => {
  const runner = await startRunner(t, [new Worker("w")]);
  const ctx = runner.job("ghost"); // never becomes ready
  const group = runner.jobGroup(["ghost", "ghost2"]);
  await sleep(10);
  await runner.cancel();
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "runner exiting");
  assert.equal(err.reason, "runner exiting");
  const gerr = await catchError(group);
  assert.ok(gerr instanceof JobError);
  assert.equal(gerr.message, "runner exiting");
});

test("end(): the runner's pending jobs reject with 'runner exiting'", T, async (t) => {
  const runner = await startRunner(t, [new Worker("w")]);
  const ctx = runner.job("ghost");
  await sleep(5);
  await runner.end("bye");
  const err = await catchError(ctx);
  assert.equal(err.message, "runner exiting");
});

test("end(string) and cancel(string) take the reason; root workers see BusEndWorkerMessage", T, async (t) => {
  const w = new Worker("w");
  const seen = [];
  w.on("busMessage", (m) => seen.push(m));
  const runner = await startRunner(t, [w], { name: "ender" });
  await runner.end("bye");
  const endMsg = await waitFor(() => seen.find((m) => m.type === "BusEndWorkerMessage"), {
    what: "BusEndWorkerMessage",
  });
  assert.equal(endMsg.source, "ender");
  assert.equal(endMsg.target, "w");
  assert.equal(endMsg.reason, "bye");

  const runner2 = await startRunner(t, [new Worker("w2")]);
  await within(runner2.cancel("stop now"), 1000, "cancel(string)");
  assert.equal(await isSettled(runner2.finished), true);
});

test("addWorkers before and after start; duplicate names and foreign workers reject", T, async (t) => {
  const a = new Worker("a").onJob(() => "from a");
  const runner = await addedRunner(t, [a]);
  await assert.rejects(runner.addWorkers(new Worker("a")), Error);
  await runner.start();
  const b = new Worker("b").onJob(() => "from b");
  await runner.addWorkers(b);
  await assert.rejects(runner.addWorkers(new Worker("b")), Error);
  assert.equal(await runner.job("a"), "from a");
  assert.equal(await runner.job("b"), "from b");
  assert.equal(runner.getWorker("a"), a);
  assert.equal(runner.getWorker("b"), b);

  // A worker hosted by another runner cannot be added.
  const other = await startRunner(t, []);
  await assert.rejects(other.addWorkers(a), Error);
  assert.equal(a.runner, runner);
  assert.equal(other.getWorker("a"), undefined);
  // The rejected attempts did not break the first runner.
  assert.equal(await runner.job("a"), "from a");
});

test("getWorker: local workers and children; undefined for unknown and remote names", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c");
  await p.addWorkers(c);
  const runner = await startRunner(t, [p]);
  await runner.registry.register({ workerName: "remote", runner: "somewhere" });
  await waitFor(() => runner.registry.has("c"), { what: "child c ready" });
  assert.equal(runner.getWorker("p"), p);
  assert.equal(runner.getWorker("c"), c);
  assert.equal(runner.getWorker("nope"), undefined);
  assert.equal(runner.getWorker("remote"), undefined);
});

test("'ready' event; on/off/once return the runner", T, async (t) => {
  const runner = new WorkerRunner();
  cancelAfter(t, runner);
  const calls = [];
  const onReady = (...args) => calls.push(["on", args]);
  const onceReady = (...args) => calls.push(["once", args]);
  const removed = () => calls.push(["removed"]);
  assert.equal(runner.on("ready", onReady), runner);
  assert.equal(runner.once("ready", onceReady), runner);
  assert.equal(runner.on("ready", removed), runner);
  assert.equal(runner.off("ready", removed), runner);
  assert.equal(runner.on("error", () => {}), runner);
  await runner.addWorkers(new Worker("w"));
  await runner.start();
  await waitFor(() => calls.length >= 2, { what: "ready listeners" });
  await quietFor(10); // no second "once" call
  assert.deepEqual(calls, [
    ["on", []],
    ["once", []],
  ]);
});

test("runner.job: source is the runner's name; runner.jobGroup gives responses by name", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b");
  a.onJob("echo", (job) => ({ source: job.source, payload: job.payload }));
  a.onJob((job) => ({ from: "a", source: job.source }));
  b.onJob((job) => ({ from: "b", source: job.source }));
  const runner = await startRunner(t, [a, b], { name: "boss" });
  const payload = { n: 1 };
  const ctx = runner.job("a", { name: "echo", payload });
  assert.equal(ctx.jobId, undefined);
  const res = await ctx;
  assert.equal(res.source, "boss");
  assert.equal(res.payload, payload);
  assert.match(ctx.jobId, UUID);

  const group = runner.jobGroup(["a", "b"]);
  const responses = await group;
  assert.deepEqual(responses, {
    a: { from: "a", source: "boss" },
    b: { from: "b", source: "boss" },
  });
  assert.deepEqual(group.responses, responses);
});

test("pending work is never lost: jobs requested before start complete after start", T, async (t) => {
  const w = new Worker("w");
  const seen = [];
  w.onJob((job) => {
    seen.push(job.payload);
    return { double: job.payload * 2 };
  });
  const requester = new Worker("requester");
  const runner = await addedRunner(t, [w, requester]);
  const c1 = runner.job("w", { payload: 1 });
  const c2 = runner.job("w", { payload: 2 });
  const c3 = requester.job("w", { payload: 3 });
  const id4 = requester.requestJob("w", { payload: 4 });
  await quietFor(20); // nothing runs before start()
  assert.deepEqual(seen, []);
  await runner.start();
  assert.deepEqual(await within(Promise.all([c1, c2, c3]), 2000, "jobs"), [{ double: 2 }, { double: 4 }, { double: 6 }]);
  assert.match(await id4, UUID);
  await waitFor(() => seen.length === 4, { what: "4 jobs handled" });
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
});

test("many concurrent jobs all complete", T, async (t) => {
  const w = new Worker("w");
  w.onJob(async (job) => {
    await sleep(job.payload % 5);
    return job.payload;
  });
  const runner = await startRunner(t, [w]);
  const n = 200;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => runner.job("w", { payload: i })));
  assert.deepEqual(results, Array.from({ length: n }, (_, i) => i));
  assert.equal(w.activeJobs.size, 0);
});

test("a worker added after start is started and can take jobs; autoEnd waits for it", T, async (t) => {
  const a = new Worker("a");
  const runner = await startRunner(t, [a]);
  const late = new Worker("late").onJob(() => "late ok");
  await runner.addWorkers(late);
  assert.equal(await runner.job("late"), "late ok");
  await a.stop();
  await quietFor(20);
  assert.equal(await isSettled(runner.finished), false, "late is still running");
  await late.stop();
  await within(runner.finished, 1000, "runner.finished");
});
