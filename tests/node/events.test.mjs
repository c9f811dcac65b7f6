// Worker events: each event of the contract fires with the right argument; on/off/once.
//
// Assumptions (readings of the contract where it is not explicit):
// - Event names are exactly the ones listed in the API contract; listeners of one event run in
//   registration order.
// - "jobError" fires on the requester (with the error response message) when a member of a
//   group with cancelOnError answers error/failed; "jobCompleted" does not fire for that group.
// - The "jobRequest" listener gets a JobRequest whose id/name/payload/source match the request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "workbus";
import { T, quietFor, deferred, startRunner, throwingWorker } from "./helpers.mjs";
import { catchError, waitFor, record, blockingWorker, assertMessage } from "./helpers.mjs";

test("on/off/once return this; once fires once; off removes a once listener", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w").onJob(() => "ok");
  const calls = [];
  const onceFn = (job) => calls.push(["once", job.payload]);
  const removedOnce = () => calls.push(["removed once"]);
  const removedOn = () => calls.push(["removed on"]);
  const first = (job) => calls.push(["first", job.payload]);
  const second = (job) => calls.push(["second", job.payload]);
  assert.equal(w.on("jobRequest", first), w);
  assert.equal(w.once("jobRequest", onceFn), w);
  assert.equal(w.once("jobRequest", removedOnce), w);
  assert.equal(w.on("jobRequest", removedOn), w);
  assert.equal(w.on("jobRequest", second), w);
  assert.equal(w.off("jobRequest", removedOnce), w);
  assert.equal(w.off("jobRequest", removedOn), w);
  assert.equal(w.off("jobRequest", () => {}), w, "removing an unknown listener is harmless");
  assert.equal(w.off("jobUpdate", first), w);
  await startRunner(t, [r, w]);
  await r.job("w", { payload: 1 });
  await r.job("w", { payload: 2 });
  await waitFor(() => calls.length === 5, { what: "listener calls" });
  await quietFor(10); // no sixth call
  assert.deepEqual(calls, [
    ["first", 1],
    ["once", 1],
    ["second", 1],
    ["first", 2],
    ["second", 2],
  ]);
});

test("requester events: jobUpdate, jobStreamStart/Data/End, jobResponse, jobCompleted", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const answer = { final: 1 };
  w.onJob("stream", async (job) => {
    await job.update({ p: 1 });
    await job.streamStart({ s: 1 });
    await job.streamData({ d: 1 });
    await job.streamEnd({ e: 1 });
  });
  w.onJob("plain", () => answer);
  await startRunner(t, [r, w]);
  const log = [];
  for (const ev of ["jobUpdate", "jobStreamStart", "jobStreamData", "jobStreamEnd", "jobResponse", "jobCompleted"]) {
    r.on(ev, (arg) => log.push([ev, arg]));
  }
  const ctx = r.job("w", { name: "stream" });
  await ctx;
  const id = ctx.jobId;
  await waitFor(() => log.length === 5, { what: "stream events" });
  const base = { source: "w", target: "r", jobId: id };
  assert.deepEqual(
    log.map(([ev]) => ev),
    ["jobUpdate", "jobStreamStart", "jobStreamData", "jobStreamEnd", "jobCompleted"],
  );
  const expected = [
    ["BusJobUpdateMessage", { update: { p: 1 } }],
    ["BusJobStreamStartMessage", { data: { s: 1 } }],
    ["BusJobStreamDataMessage", { data: { d: 1 } }],
    ["BusJobStreamEndMessage", { data: { e: 1 } }],
  ];
  expected.forEach(([type, fields], i) => assertMessage(log[i][1], { type, ...base, ...fields }));
  assert.deepEqual(log[4][1], { jobId: id, responses: { w: { e: 1 } } });

  log.length = 0;
  const ctx2 = r.job("w", { name: "plain" });
  await ctx2;
  await waitFor(() => log.length === 2, { what: "response events" });
  assert.equal(log[0][0], "jobResponse");
  assertMessage(log[0][1], {
    type: "BusJobResponseMessage",
    source: "w",
    target: "r",
    jobId: ctx2.jobId,
    status: "completed",
  });
  assert.equal(log[0][1].response, answer);
  assert.deepEqual(log[1], ["jobCompleted", { jobId: ctx2.jobId, responses: { w: answer } }]);
});

test("worker events: jobRequest, jobUpdateRequested, jobCancelled", T, async (t) => {
  const r = new Worker("r");
  const { worker: w, started } = blockingWorker("w");
  const requests = record(w, "jobRequest");
  const updateRequests = record(w, "jobUpdateRequested");
  const cancels = record(w, "jobCancelled");
  await startRunner(t, [r, w]);
  const payload = { q: 1 };
  const ctx = r.job("w", { name: "job-name", payload });
  const job = await started;
  await waitFor(() => requests.length === 1, { what: "jobRequest" });
  const req = requests[0];
  assert.equal(req.id, ctx.jobId);
  assert.equal(req.name, "job-name");
  assert.equal(req.payload, payload);
  assert.equal(req.source, "r");
  assert.ok(req.signal instanceof AbortSignal);

  await r.requestJobUpdate(ctx.jobId, "w");
  await waitFor(() => updateRequests.length === 1, { what: "jobUpdateRequested" });
  assertMessage(updateRequests[0], { type: "BusJobUpdateRequestMessage", jobId: ctx.jobId, source: "r", target: "w" });

  await ctx.cancel("bye");
  await catchError(ctx);
  await waitFor(() => cancels.length === 1, { what: "jobCancelled" });
  assertMessage(cancels[0], { type: "BusJobCancelMessage", jobId: ctx.jobId, source: "r", target: "w", reason: "bye" });
  assert.equal(job.signal.aborted, true);
});

test("jobError fires on the requester for an error answer with cancelOnError", T, async (t) => {
  const r = new Worker("r");
  const w = throwingWorker("w", "kaput");
  await startRunner(t, [r, w]);
  const errors = record(r, "jobError");
  const completed = record(r, "jobCompleted");
  const responses = record(r, "jobResponse");
  const ctx = r.job("w");
  await catchError(ctx);
  await waitFor(() => errors.length === 1, { what: "jobError" });
  assertMessage(errors[0], {
    type: "BusJobResponseMessage",
    source: "w",
    target: "r",
    jobId: ctx.jobId,
    status: "error",
    response: { error: "kaput" },
  });
  await waitFor(() => responses.length === 1, { what: "jobResponse" });
  await quietFor(10); // no "jobCompleted"
  assert.deepEqual(completed, []);
});

test("lifecycle events: activated, workerReady, workerFailed, deactivated, finished", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c", { active: false });
  await p.addWorkers(c);
  const log = [];
  p.on("activated", (...args) => log.push(["p activated", args]));
  p.on("workerReady", (...args) => log.push(["p workerReady", args]));
  p.on("workerFailed", (...args) => log.push(["p workerFailed", args]));
  c.on("activated", (...args) => log.push(["c activated", args]));
  c.on("deactivated", (...args) => log.push(["c deactivated", args]));
  c.on("finished", (...args) => log.push(["c finished", args]));
  p.on("finished", (...args) => log.push(["p finished", args]));
  const runner = await startRunner(t, [p], { name: "life" });
  await waitFor(() => log.some(([e]) => e === "p workerReady"), { what: "workerReady" });
  await p.activateWorker("c", { args: { metadata: { go: 1 } } });
  await waitFor(() => log.some(([e]) => e === "c activated"), { what: "c activated" });
  await c.sendBusErrorMessage("child broke");
  await waitFor(() => log.some(([e]) => e === "p workerFailed"), { what: "workerFailed" });
  await p.deactivateWorker("c");
  await waitFor(() => log.some(([e]) => e === "c deactivated"), { what: "c deactivated" });
  await runner.end();
  await waitFor(() => log.some(([e]) => e === "p finished"), { what: "p finished" });

  const get = (name) => log.filter(([e]) => e === name).map(([, args]) => args);
  assert.deepEqual(get("p activated"), [[null]]);
  assert.deepEqual(get("p workerReady"), [[{ workerName: "c", runner: "life" }]]);
  assert.deepEqual(get("c activated"), [[{ metadata: { go: 1 } }]]);
  assert.deepEqual(get("p workerFailed"), [[{ workerName: "c", error: "child broke" }]]);
  assert.deepEqual(get("c deactivated"), [[]]);
  assert.deepEqual(get("c finished"), [[]]);
  assert.deepEqual(get("p finished"), [[]]);
  const names = log.map(([e]) => e);
  assert.ok(names.indexOf("c finished") < names.indexOf("p finished"), "child finishes first");
});

test("listeners run after the worker's own handling of a message", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w", { active: false });
  const gate = deferred();
  w.onJob(async () => {
    await gate.promise;
    return "x";
  });
  let activeInListener;
  let activeJobInListener;
  w.on("activated", () => {
    activeInListener = w.active;
  });
  w.on("jobRequest", (job) => {
    activeJobInListener = w.activeJobs.has(job.id);
  });
  await startRunner(t, [r, w]);
  const ctx = r.job("w");
  await r.activateWorker("w");
  await waitFor(() => activeInListener !== undefined && activeJobInListener !== undefined, { what: "listeners" });
  assert.equal(activeInListener, true, "the worker is already active when 'activated' runs");
  assert.equal(activeJobInListener, true, "the job is already active when 'jobRequest' runs");
  gate.resolve();
  assert.equal(await ctx, "x");
});
