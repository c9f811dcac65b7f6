// A worker not attached to a runner: every method that needs a runner throws (synchronous) or
// rejects (async) with exactly Error("Worker '<w>' is not attached to a runner"), stop()
// included; addWorkers and onWorkerReady may be called before (they take effect at start).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "workbus";
import { T } from "./helpers.mjs";

const NOT_ATTACHED = "Worker 'loose' is not attached to a runner";

test("every method that needs a runner fails on a worker without one, stop() included; addWorkers and onWorkerReady work before", T, async () => {
  const w = new Worker("loose");
  const sync = { job: () => w.job("x"), jobGroup: () => w.jobGroup(["x"]) };
  const async_ = {
    stop: () => w.stop(),
    "stop with options": () => w.stop({ reason: "done", gracePeriod: 10 }),
    sendJobResponse: () => w.sendJobResponse("id", {}),
    sendJobUpdate: () => w.sendJobUpdate("id", {}),
    sendJobStreamStart: () => w.sendJobStreamStart("id"),
    sendJobStreamData: () => w.sendJobStreamData("id", 1),
    sendJobStreamEnd: () => w.sendJobStreamEnd("id"),
    sendBusErrorMessage: () => w.sendBusErrorMessage("broken"),
    requestJob: () => w.requestJob("x"),
    requestJobGroup: () => w.requestJobGroup(["x"]),
    createJobGroupAndRequestJob: () => w.createJobGroupAndRequestJob(["x"]),
    cancelJobGroup: () => w.cancelJobGroup("id"),
    requestCancelJobGroup: () => w.requestCancelJobGroup("id"),
    requestJobUpdate: () => w.requestJobUpdate("id", "x"),
    watchWorkers: () => w.watchWorkers("x"),
    activateWorker: () => w.activateWorker("x"),
    deactivateWorker: () => w.deactivateWorker("x"),
    endSession: () => w.endSession(),
    cancelSession: () => w.cancelSession(),
  };
  const wrong = [];
  for (const [name, call] of Object.entries(sync)) {
    try {
      call();
      wrong.push(`${name}: did not throw`);
    } catch (e) {
      if (e.constructor !== Error || e.message !== NOT_ATTACHED) wrong.push(`${name}: threw ${e.name}: ${e.message}`);
    }
  }
  for (const [name, call] of Object.entries(async_)) {
    let result;
    try {
      result = call();
    } catch (e) {
      wrong.push(`${name}: threw synchronously (${e.message}) instead of rejecting`);
      continue;
    }
    const outcome = await result.then(
      () => "resolved",
      (e) => e,
    );
    if (outcome === "resolved") wrong.push(`${name}: resolved`);
    else if (outcome.constructor !== Error || outcome.message !== NOT_ATTACHED) wrong.push(`${name}: rejected with ${outcome.name}: ${outcome.message}`);
  }
  assert.deepEqual(wrong, []);
  // The two that may come first, and take effect when the worker starts.
  assert.equal(w.onWorkerReady("child", () => {}), w);
  assert.equal(await w.addWorkers(new Worker("child")), undefined);
});
