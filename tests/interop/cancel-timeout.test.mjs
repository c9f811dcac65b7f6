// Scenario 3: cancellation and timeouts in both directions between workbus and real Pipecat
// over Redis, with Pipecat's statuses and reasons on both sides.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JobError, JobGroupError, Worker } from "workbus";
import { T, jsWorker, sleep, usePyJsSessions } from "./helpers.mjs";

const requester = new Worker("js-requester");
const worker = jsWorker("js-worker");
let py;
let js;
usePyJsSessions({ watch: ["js-worker", "js-temp"], workers: [requester, worker], seenByPy: ["js-worker"] }, (s) => ({ py, js } = s));

const pyCancel = (jobId) => py.waitFor((e) => e.event === "job_cancelled" && e.job_id === jobId, 5000, `Python's cancel of ${jobId}`);
const pyStarted = (jobId) => py.waitFor((e) => e.event === "job_started" && e.job_id === jobId, 5000, `Python's start of ${jobId}`);
const pyResponse = (jobId) => py.waitFor((e) => e.event === "job_response" && e.job_id === jobId, 5000, `a response to ${jobId}`);
async function jsCancel(jobId) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const found = worker.cancelled.find((m) => m.jobId === jobId);
    if (found) return found;
    await sleep(10);
  }
  throw new Error(`the JS worker saw no cancel of ${jobId}`);
}

// --- JS requester → Python worker

test("JS → Python: a timeout fails the job with 'timeout' and cancels the Python job with that reason", T, async () => {
  const ctx = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, timeout: 300 });
  const t0 = Date.now();
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "timeout" && e.message === "timeout");
  assert.ok(Date.now() - t0 < 2000);
  const cancel = await pyCancel(ctx.jobId);
  assert.deepEqual([cancel.worker, cancel.reason, cancel.source], ["py-worker", "timeout", "js-requester"]);
});

test("JS → Python: cancel(reason) reaches the Python handler; Pipecat answers cancelled", T, async () => {
  const seen = [];
  const onResponse = (m) => seen.push(m);
  requester.on("jobResponse", onResponse);
  const ctx = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, timeout: 10_000 });
  const jobId = await ctx.started;
  await pyStarted(jobId);
  await ctx.cancel("user stop");
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "user stop");
  const cancel = await pyCancel(jobId);
  assert.equal(cancel.reason, "user stop");
  // Pipecat's automatic CANCELLED reply (no response body) still reaches the requester.
  const deadline = Date.now() + 3000;
  while (!seen.some((m) => m.jobId === jobId) && Date.now() < deadline) await sleep(10);
  requester.off("jobResponse", onResponse);
  const late = seen.find((m) => m.jobId === jobId);
  assert.ok(late, "no late cancelled response");
  assert.equal(late.type, "BusJobResponseMessage");
  assert.equal(late.status, "cancelled");
  assert.equal(late.source, "py-worker");
});

test("JS → Python: an AbortSignal cancels with its reason", T, async () => {
  const controller = new AbortController();
  const ctx = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, signal: controller.signal });
  const jobId = await ctx.started;
  await pyStarted(jobId);
  controller.abort("navigated away");
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "navigated away");
  assert.equal((await pyCancel(jobId)).reason, "navigated away");
});

test("JS → Python: a handler that raises sends nothing (Pipecat), so only the timeout ends the job", T, async () => {
  const ctx = requester.job("py-worker", { name: "raise", timeout: 400 });
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "timeout");
  assert.equal((await pyCancel(ctx.jobId)).reason, "timeout");
});

test("JS → Python: a Python worker answering cancelled on its own fails the JS job with its reason", T, async () => {
  await assert.rejects(requester.job("py-worker", { name: "cancelled", timeout: 10_000 }), (e) => {
    assert.ok(e instanceof JobError);
    assert.equal(e.reason, "not today");
    assert.equal(e.status, "cancelled");
    return true;
  });
});

test("JS → Python group: one failure cancels the others with \"worker '<w>' errored\"", T, async () => {
  const group = requester.jobGroup(["py-worker", "py-helper"], { name: "mixed", payload: { fail: ["py-worker"], seconds: 30 }, timeout: 10_000 });
  await assert.rejects(group, (e) => {
    assert.ok(e instanceof JobGroupError);
    assert.equal(e.reason, "worker 'py-worker' errored");
    assert.equal(e.workerName, "py-worker");
    assert.equal(e.status, "failed");
    return true;
  });
  const cancel = await pyCancel(group.jobId);
  assert.deepEqual([cancel.worker, cancel.reason], ["py-helper", "worker 'py-worker' errored"]);
});

test("JS → unknown worker: 'workers not ready within timeout'", T, async () => {
  await assert.rejects(requester.job("nobody", { timeout: 200 }), (e) => e instanceof JobError && e.reason === "workers not ready within timeout");
});

// --- Python requester → JS worker

test("Python → JS: Pipecat's timeout fails with JobError('timeout') and the JS handler is aborted with 'timeout'", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "slow", payload: { seconds: 30 }, timeout: 0.3 });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobError", "timeout"]);
  const cancel = await jsCancel(r.job_id);
  assert.deepEqual([cancel.type, cancel.source, cancel.target, cancel.reason], ["BusJobCancelMessage", "py-requester", "js-worker", "timeout"]);
  // The JS worker answers the cancel with status cancelled, as Pipecat's workers do.
  const response = await pyResponse(r.job_id);
  assert.equal(response.status, "cancelled");
  assert.equal(response.source, "js-worker");
});

test("Python → JS: cancel_job_group(reason) reaches the JS handler's signal and the job fails with that reason", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "slow", payload: { seconds: 30 }, timeout: 10, cancel_after: 0.3, cancel_reason: "py stop" });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobError", "py stop"]);
  assert.equal((await jsCancel(r.job_id)).reason, "py stop");
  const response = await pyResponse(r.job_id);
  assert.equal(response.status, "cancelled");
  assert.deepEqual(response.response, { reason: "py stop" });
});

test("Python → JS group: a JS failure cancels the Python member; a Python failure cancels the JS member", T, async () => {
  const a = await py.request({ cmd: "group", workers: ["py-worker", "js-worker"], name: "mixed", payload: { fail: ["js-worker"], seconds: 30 }, timeout: 10 });
  assert.deepEqual([a.ok, a.error_type, a.error], [false, "JobGroupError", "worker 'js-worker' errored"]);
  assert.equal((await pyCancel(a.job_id)).reason, "worker 'js-worker' errored");

  const b = await py.request({ cmd: "group", workers: ["py-worker", "js-worker"], name: "mixed", payload: { fail: ["py-worker"], seconds: 30 }, timeout: 10 });
  assert.deepEqual([b.ok, b.error_type, b.error], [false, "JobGroupError", "worker 'py-worker' errored"]);
  const cancel = await jsCancel(b.job_id);
  assert.deepEqual([cancel.source, cancel.reason], ["py-requester", "worker 'py-worker' errored"]);
});

test("Python → JS group timeout: JobGroupError('timeout'), every member cancelled with 'timeout'", T, async () => {
  const r = await py.request({ cmd: "group", workers: ["js-worker", "py-helper"], name: "slow", payload: { seconds: 30 }, timeout: 0.3 });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobGroupError", "timeout"]);
  assert.equal((await jsCancel(r.job_id)).reason, "timeout");
  assert.equal((await pyCancel(r.job_id)).reason, "timeout");
});

test("Python → a JS worker that stops mid-job: Pipecat completes the job with the cancelled answer", T, async () => {
  const temp = jsWorker("js-temp");
  await js.runner.addWorkers(temp);
  await py.waitFor((e) => e.event === "registered" && e.worker === "js-temp", 10_000, "registration of js-temp");
  const pending = py.request({ cmd: "job", worker: "js-temp", name: "slow", payload: { seconds: 30 }, timeout: 10 });
  const deadline = Date.now() + 5000;
  while (temp.requests.length === 0 && Date.now() < deadline) await sleep(10);
  assert.equal(temp.requests.length, 1, "the job never reached js-temp");
  await temp.stop({ gracePeriod: 0 });
  const r = await pending;
  // A CANCELLED response is a normal completion for Pipecat's requester.
  assert.equal(r.ok, true, JSON.stringify(r));
  const response = await pyResponse(r.job_id);
  assert.deepEqual([response.source, response.status], ["js-temp", "cancelled"]);
  assert.deepEqual(r.response, { reason: "worker 'js-temp' stopped" });
  assert.deepEqual(response.response, { reason: "worker 'js-temp' stopped" });
});

test("Python → a worker nobody runs: JobGroupError('workers not ready within timeout') from entering the context", T, async () => {
  const r = await py.request({ cmd: "job", worker: "nobody", timeout: 0.3 });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobGroupError", "workers not ready within timeout"]);
});

test("a Python worker's cancel() cancels the JS runner too (BusCancelMessage); pending JS jobs fail", T, async () => {
  const pending = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, timeout: 20_000 });
  await pyStarted(await pending.started);
  py.send({ cmd: "worker_cancel", reason: "python pulled the plug" });
  await js.runner.finished;
  // The requesting worker stops with the runner, failing its open groups as Pipecat does.
  await assert.rejects(pending, (e) => e instanceof JobError && e.reason === "worker 'js-requester' stopped");
  const finished = await py.waitFor((e) => e.event === "finished", 10_000, "the Python runner to finish");
  assert.equal(finished.reason, "runner finished");
});
