// Bad input: constructors and synchronous methods throw TypeError naming the argument, async
// methods reject with it; nothing is left pending and the runner keeps working. A worker not
// attached to a runner throws / rejects "Worker '<w>' is not attached to a runner".
//
// Assumptions (readings of the contract where it is not explicit):
// - "Naming the argument" means the TypeError's message contains the parameter's name as
//   written in the API contract (`name`, `workerName`, `workerNames`, `handler`, `listener`, `event`,
//   `timeout`, `jobId`, `gracePeriod`, `signal`, …). Where the contract names no parameter (e.g. a
//   malformed option object), only the class is checked.
// - `timeout` must be a finite number ≥ 0 (negative, NaN, Infinity and non-numbers are
//   rejected), as must `gracePeriod`.
// - An unknown event name passed to `on`/`once` throws a TypeError mentioning "event".
// - Option values of the wrong type (`active`, `sequential`, `cancellable`, `cancelOnError`,
//   `status`, `autoEnd`) are bad input too.
// - Of the methods of an unattached worker, `job`/`jobGroup` (synchronous) throw, and
//   `requestJob`, `requestJobGroup`, `createJobGroupAndRequestJob`, `requestJobUpdate`,
//   `activateWorker`, `deactivateWorker`, `watchWorkers`, `sendBusErrorMessage`, `endSession`,
//   `cancelSession` reject, with exactly `Error("Worker '<w>' is not attached to a runner")`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner, WorkerActivationArgs, LLMWorkerActivationArgs } from "workbus";
import { T, quietFor, addedRunner, startRunner, startPair, catchError, waitFor, catchSync } from "./helpers.mjs";

function throwsTypeError(fn, re, label = re ? String(re) : "") {
  const err = catchSync(fn);
  assert.ok(err instanceof TypeError, `${label}: expected a TypeError, got ${err}`);
  if (re) assert.match(err.message, re, label);
}

async function rejectsTypeError(fn, re, label = re ? String(re) : "") {
  let promise;
  assert.doesNotThrow(() => {
    promise = fn();
  }, `${label}: an async method must reject, not throw`);
  assert.ok(promise && typeof promise.then === "function", `${label}: returns a promise`);
  const err = await catchError(promise);
  assert.ok(err instanceof TypeError, `${label}: expected a TypeError, got ${err}`);
  if (re) assert.match(err.message, re, label);
}

/** A requester "r" and a worker "w" answering `{ ok: true, payload }`, on a started runner. */
const setup = (t) => startPair(t, (w) => w.onJob((job) => ({ ok: true, payload: job.payload })));

test("constructors: new Worker / new WorkerRunner", T, () => {
  throwsTypeError(() => new Worker(42), /name/);
  throwsTypeError(() => new Worker(), /name/);
  throwsTypeError(() => new Worker(null), /name/);
  throwsTypeError(() => new Worker({ name: "w" }), /name/);
  throwsTypeError(() => new Worker("w", { active: "yes" }), /active/);
  throwsTypeError(() => new WorkerRunner({ name: 5 }), /name/);
});

test("onJob, on, once, onWorkerReady: TypeError naming the argument", T, () => {
  const w = new Worker("w");
  throwsTypeError(() => w.onJob("x", 5), /handler/);
  throwsTypeError(() => w.onJob("x", "not a function"), /handler/);
  throwsTypeError(() => w.onJob(5), /handler|jobName/);
  throwsTypeError(() => w.onJob(5, () => {}), /jobName/);
  throwsTypeError(() => w.onJob("x", () => {}, { sequential: "yes" }), /sequential/);
  throwsTypeError(() => w.on("activated", "notfn"), /listener/);
  throwsTypeError(() => w.once("jobRequest", 5), /listener/);
  throwsTypeError(() => w.on("nope", () => {}), /event/);
  throwsTypeError(() => w.once("on_job_request", () => {}), /event/);
  throwsTypeError(() => w.on(5, () => {}), /event/);
  throwsTypeError(() => w.onWorkerReady(5, () => {}), /workerName/);
  throwsTypeError(() => w.onWorkerReady("a", 5), /listener/);

  const runner = new WorkerRunner();
  throwsTypeError(() => runner.on("nope", () => {}), /event/);
  throwsTypeError(() => runner.on("ready", 5), /listener/);

  // The failed registrations left nothing behind: these still work.
  assert.equal(
    w.onJob("x", () => "x"),
    w,
  );
  assert.equal(
    w.on("activated", () => {}),
    w,
  );
});

test("job / jobGroup (worker and runner): TypeError naming the argument", T, async (t) => {
  const { r, w, runner } = await setup(t);
  for (const requester of [r, runner]) {
    throwsTypeError(() => requester.job(42), /workerName/);
    throwsTypeError(() => requester.job(undefined), /workerName/);
    throwsTypeError(() => requester.job("w", { timeout: -1 }), /timeout/);
    throwsTypeError(() => requester.job("w", { timeout: NaN }), /timeout/);
    throwsTypeError(() => requester.job("w", { timeout: Infinity }), /timeout/);
    throwsTypeError(() => requester.job("w", { timeout: "100" }), /timeout/);
    throwsTypeError(() => requester.job("w", { name: 5 }), /name/);
    throwsTypeError(() => requester.job("w", { signal: {} }), /signal/);
    throwsTypeError(() => requester.job("w", { cancellable: "no" }), /cancellable/);
    throwsTypeError(() => requester.job("w", 5));
    throwsTypeError(() => requester.jobGroup([]), /workerNames/);
    throwsTypeError(() => requester.jobGroup(["w", "w"]), /workerNames/);
    throwsTypeError(() => requester.jobGroup("w"), /workerNames/);
    throwsTypeError(() => requester.jobGroup([1]), /workerNames/);
    throwsTypeError(() => requester.jobGroup(undefined), /workerNames/);
    throwsTypeError(() => requester.jobGroup(["w"], { timeout: -5 }), /timeout/);
    throwsTypeError(() => requester.jobGroup(["w"], { cancelOnError: "x" }), /cancelOnError/);
  }
  // Nothing is pending and the runner still works.
  await quietFor(10);
  assert.equal(r.jobGroups.size, 0);
  assert.equal(w.activeJobs.size, 0);
  assert.deepEqual(await r.job("w", { payload: 1 }), { ok: true, payload: 1 });
  assert.deepEqual(await runner.job("w", { payload: 2 }), { ok: true, payload: 2 });
  assert.equal((await r.jobGroup(["w"], { timeout: 1000 })).w.ok, true);
});

test("async methods reject with TypeError instead of throwing", T, async (t) => {
  const { r, w, runner } = await setup(t);
  await rejectsTypeError(() => r.requestJob(42), /workerName/);
  await rejectsTypeError(() => r.requestJob("w", { timeout: -5 }), /timeout/);
  await rejectsTypeError(() => r.requestJob("w", { timeout: NaN }), /timeout/);
  await rejectsTypeError(() => r.requestJobGroup([]), /workerNames/);
  await rejectsTypeError(() => r.requestJobGroup(["w", "w"]), /workerNames/);
  await rejectsTypeError(() => r.requestJobGroup("w"), /workerNames/);
  await rejectsTypeError(() => r.createJobGroupAndRequestJob("w"), /workerNames/);
  await rejectsTypeError(() => r.createJobGroupAndRequestJob([]), /workerNames/);
  await rejectsTypeError(() => r.createJobGroupAndRequestJob(["w"], { timeout: Infinity }), /timeout/);
  await rejectsTypeError(() => r.cancelJobGroup(5), /jobId/);
  await rejectsTypeError(() => r.requestCancelJobGroup(5), /jobId/);
  await rejectsTypeError(() => r.requestJobUpdate(5, "w"), /jobId/);
  await rejectsTypeError(() => r.requestJobUpdate("some-id", 5), /workerName/);
  await rejectsTypeError(() => w.sendJobResponse(5), /jobId/);
  await rejectsTypeError(() => w.sendJobUpdate(5), /jobId/);
  await rejectsTypeError(() => w.sendJobStreamStart(5), /jobId/);
  await rejectsTypeError(() => w.sendJobStreamData(5), /jobId/);
  await rejectsTypeError(() => w.sendJobStreamEnd(5), /jobId/);
  await rejectsTypeError(() => r.sendBusErrorMessage(5), /error/);
  await rejectsTypeError(() => r.activateWorker(5), /name/);
  await rejectsTypeError(() => r.activateWorker("w", { args: 5 }), /args/);
  await rejectsTypeError(() => r.deactivateWorker(5), /name/);
  await rejectsTypeError(() => r.watchWorkers(5), /name/);
  await rejectsTypeError(() => r.addWorkers("not a worker"));
  await rejectsTypeError(() => r.addWorkers({ name: "fake" }));
  await rejectsTypeError(() => runner.addWorkers({ name: "fake" }));
  await rejectsTypeError(() => runner.addWorkers(5));
  await rejectsTypeError(() => runner.end({ gracePeriod: -1 }), /gracePeriod/);
  await rejectsTypeError(() => runner.end({ gracePeriod: NaN }), /gracePeriod/);
  await rejectsTypeError(() => w.stop({ gracePeriod: -1 }), /gracePeriod/);
  await rejectsTypeError(() => runner.registry.watch(5, () => {}), /name/);
  await rejectsTypeError(() => runner.registry.watch("a", 5), /handler/);
  await rejectsTypeError(() => runner.registry.register({}));
  await rejectsTypeError(() => runner.registry.register(null));
  await rejectsTypeError(() => runner.registry.register({ workerName: 5, runner: "x" }), /workerName/);

  // None of it stopped anything or left anything pending.
  await quietFor(10);
  assert.equal(await r.job("w", { payload: "still" }).then((v) => v.payload), "still");
  assert.equal(r.jobGroups.size, 0);
  assert.equal(w.activeJobs.size, 0);
  assert.deepEqual(runner.registry.localWorkers, ["r", "w"]);
});

test("a bad status in a response is rejected and the job stays answerable", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const errors = [];
  w.onJob(async (job) => {
    errors.push(await catchError(job.respond({}, { status: "weird" })));
    errors.push(await catchError(w.sendJobResponse(job.id, {}, { status: 5 })));
    return "answered properly";
  });
  await startRunner(t, [r, w]);
  assert.equal(await r.job("w"), "answered properly");
  assert.equal(errors.length, 2);
  for (const e of errors) {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /status/);
  }
});

test("registry sync methods and getWorker check their arguments", T, async (t) => {
  const { runner } = await setup(t);
  throwsTypeError(() => runner.registry.get(5), /name/);
  throwsTypeError(() => runner.registry.has(5), /name/);
  throwsTypeError(() => runner.registry.unwatch(5, () => {}), /name/);
  throwsTypeError(() => runner.getWorker(5), /name/);
  throwsTypeError(() => WorkerActivationArgs.fromDict(5));
  throwsTypeError(() => LLMWorkerActivationArgs.fromDict("messages"));
  assert.deepEqual(runner.registry.get("w"), { workerName: "w", runner: runner.name });
});

test("runner.start with bad options rejects; a good start afterwards works", T, async (t) => {
  const w = new Worker("w");
  w.onJob(() => "ok");
  const runner = await addedRunner(t, [w]);
  await rejectsTypeError(() => runner.start({ autoEnd: "yes" }), /autoEnd/);
  await runner.start();
  assert.equal(await runner.job("w"), "ok");
});

test("a worker not attached to a runner: sync methods throw, async ones reject", T, async (t) => {
  const w = new Worker("lonely");
  const expected = "Worker 'lonely' is not attached to a runner";
  const check = (err, label) => {
    assert.ok(err instanceof Error, label);
    assert.ok(!(err instanceof TypeError), `${label}: not a TypeError`);
    assert.equal(err.message, expected, label);
  };
  check(catchSync(() => w.job("x")), "job");
  check(catchSync(() => w.jobGroup(["x", "y"])), "jobGroup");
  const asyncCalls = {
    requestJob: () => w.requestJob("x"),
    requestJobGroup: () => w.requestJobGroup(["x"]),
    createJobGroupAndRequestJob: () => w.createJobGroupAndRequestJob(["x"]),
    requestJobUpdate: () => w.requestJobUpdate("00000000-0000-4000-8000-000000000000", "x"),
    activateWorker: () => w.activateWorker("x"),
    deactivateWorker: () => w.deactivateWorker("x"),
    watchWorkers: () => w.watchWorkers("x"),
    sendBusErrorMessage: () => w.sendBusErrorMessage("oops"),
    endSession: () => w.endSession(),
    cancelSession: () => w.cancelSession({ reason: "r" }),
  };
  for (const [label, call] of Object.entries(asyncCalls)) {
    let promise;
    assert.doesNotThrow(() => {
      promise = call();
    }, `${label} must reject, not throw`);
    check(await catchError(promise), label);
  }

  // onJob, on and onWorkerReady work before attaching, and so does addWorkers.
  const readyCalls = [];
  w.onJob(() => "lonely no more");
  w.on("jobRequest", () => {});
  w.onWorkerReady("friend", (d) => readyCalls.push(d));
  await w.addWorkers(new Worker("lonely-child"));
  const friend = new Worker("friend");
  const runner = await startRunner(t, [w, friend]);
  assert.equal(await friend.job("lonely"), "lonely no more");
  assert.equal(await runner.job("lonely"), "lonely no more");
  await waitFor(() => runner.registry.has("lonely-child"), { what: "the child added before attaching" });
  await waitFor(() => readyCalls.length === 1, { what: "onWorkerReady listener" });
  assert.deepEqual(readyCalls, [{ workerName: "friend", runner: runner.name }]);
});
