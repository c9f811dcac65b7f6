// The bus as users see it: message objects on "busMessage", listener errors, the system lane
// overtaking queued data, delivery never inline from a send.
//
// Assumptions (readings of the contract where it is not explicit):
// - Messages sent in one synchronous turn are all queued before the receiver handles any of
//   them, and the receiver handles its queued system-lane messages (urgent responses/updates,
//   cancels) before its queued data-lane messages, FIFO within each lane (Pipecat's ordering).
//   So 3 normal updates then an urgent response, sent in one turn, reach the requester as
//   response, update 1, update 2, update 3; the job resolves with the response and its context
//   yields none of those updates (they arrive after the job completed).
// - Updates arriving after the job completed still fire the requester's "jobUpdate" event
//   (Pipecat: "any update addressed here").
// - A worker's "busMessage" sees broadcasts (its own included) and messages addressed to it, not
//   messages addressed to other workers.
// - A listener that throws or rejects is logged; it never becomes an uncaught exception or an
//   unhandled rejection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, LocalBus, WorkerActivationArgs } from "workbus";
import { T, sleep, quietFor, startRunner, waitFor, drain, record, assertMessage, trackUnhandledRejections } from "./helpers.mjs";

test("message objects: type = Pipecat class name, source, target, camelCase fields", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const answer = { a: 1 };
  w.onJob(async (job) => {
    await job.update({ u: 1 });
    return answer;
  });
  const wSeen = record(w, "busMessage");
  const rSeen = record(r, "busMessage");
  await startRunner(t, [r, w]);
  const payload = { p: 1 };
  const ctx = r.job("w", { name: "n", payload });
  await ctx;
  const id = ctx.jobId;

  const req = await waitFor(() => wSeen.find((m) => m.type === "BusJobRequestMessage"), { what: "request" });
  assertMessage(req, {
    type: "BusJobRequestMessage",
    source: "r",
    target: "w",
    jobId: id,
    jobName: "n",
  });
  assert.equal(req.payload, payload, "the payload by reference");
  assert.ok(!("job_id" in req) && !("job_name" in req), "camelCase field names");

  const upd = await waitFor(() => rSeen.find((m) => m.type === "BusJobUpdateMessage"), { what: "update" });
  assertMessage(upd, {
    type: "BusJobUpdateMessage",
    source: "w",
    target: "r",
    jobId: id,
    update: { u: 1 },
  });
  const res = await waitFor(() => rSeen.find((m) => m.type === "BusJobResponseMessage"), { what: "response" });
  assertMessage(res, {
    type: "BusJobResponseMessage",
    source: "w",
    target: "r",
    jobId: id,
    status: "completed",
  });
  assert.equal(res.response, answer);
  assert.equal(Object.getPrototypeOf(res), Object.prototype, "a plain object");
});

test("broadcasts: BusWorkerReadyMessage when a worker becomes ready", T, async (t) => {
  const a = new Worker("a");
  const seen = [];
  a.on("busMessage", (m) => {
    if (m.type === "BusWorkerReadyMessage") seen.push(m);
  });
  const runner = await startRunner(t, [a], { name: "bcast" });
  // A worker sees its own broadcasts.
  await waitFor(() => seen.some((m) => m.source === "a"), { what: "a's own ready message" });
  const before = Date.now();
  await runner.addWorkers(new Worker("late", { active: false }));
  const m = await waitFor(() => seen.find((x) => x.source === "late"), { what: "late's ready message" });
  assertMessage(m, {
    type: "BusWorkerReadyMessage",
    source: "late",
    target: null,
    runner: "bcast",
    parent: null,
    active: false,
    bridged: false,
  });
  assert.equal(typeof m.startedAt, "number");
  assert.ok(m.startedAt >= before - 1 && m.startedAt <= Date.now() + 1, "startedAt in epoch ms");
});

test("BusActivateWorkerMessage / BusDeactivateWorkerMessage carry args in wire form", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b", { active: false });
  const seen = record(b, "busMessage");
  await startRunner(t, [a, b]);
  await a.activateWorker("b", { args: WorkerActivationArgs.fromDict({ metadata: { z: 1 } }) });
  await a.deactivateWorker("b");
  const act = await waitFor(() => seen.find((m) => m.type === "BusActivateWorkerMessage"), { what: "activate" });
  assertMessage(act, {
    type: "BusActivateWorkerMessage",
    source: "a",
    target: "b",
    args: { metadata: { z: 1 } },
  });
  const deact = await waitFor(() => seen.find((m) => m.type === "BusDeactivateWorkerMessage"), {
    what: "deactivate",
  });
  assertMessage(deact, {
    type: "BusDeactivateWorkerMessage",
    source: "a",
    target: "b",
  });
  const types = seen.map((m) => m.type);
  assert.ok(types.indexOf("BusActivateWorkerMessage") < types.indexOf("BusDeactivateWorkerMessage"), "FIFO");
});

test("a worker does not see messages addressed to other workers", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w").onJob(() => "ok");
  const bystander = new Worker("bystander");
  const seen = record(bystander, "busMessage");
  await startRunner(t, [r, w, bystander]);
  await r.job("w");
  await quietFor(10); // nothing addressed to others arrives late either
  const targeted = seen.filter((m) => m.target !== null && m.target !== undefined);
  assert.deepEqual(
    targeted.filter((m) => m.target !== "bystander"),
    [],
  );
  assert.equal(seen.some((m) => m.type === "BusJobRequestMessage"), false);
});

test("a listener that throws never stops delivery", T, async (t) => {
  const unhandled = trackUnhandledRejections(t);

  const r = new Worker("r");
  const w = new Worker("w");
  w.onJob(async (job) => {
    await job.update(1);
    await job.update(2);
    await job.update(3);
    return "done";
  });
  r.on("jobUpdate", () => {
    throw new Error("listener boom");
  });
  r.on("jobUpdate", async () => {
    throw new Error("async listener boom");
  });
  const updates = [];
  r.on("jobUpdate", (m) => updates.push(m.update));
  r.on("busMessage", () => {
    throw new Error("busMessage listener boom");
  });
  w.on("jobRequest", () => {
    throw new Error("jobRequest listener boom");
  });
  w.on("busMessage", () => {
    throw new Error("worker busMessage listener boom");
  });
  await startRunner(t, [r, w]);
  const ctx = r.job("w");
  assert.equal(await ctx, "done");
  await waitFor(() => updates.length === 3, { what: "three updates" });
  assert.deepEqual(updates, [1, 2, 3]);
  assert.deepEqual(await drain(ctx), [
    { type: "update", data: 1 },
    { type: "update", data: 2 },
    { type: "update", data: 3 },
  ]);
  // Delivery goes on for later messages too.
  assert.equal(await r.job("w"), "done");
  await waitFor(() => updates.length === 6, { what: "three more updates" });
  await quietFor(10); // no late rejection
  assert.deepEqual(unhandled, []);
});

test("system lane first: an urgent response overtakes normal updates sent before it", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  w.onJob((job) => {
    // All in one synchronous turn: three data-lane updates, then a system-lane response.
    job.update({ n: 1 });
    job.update({ n: 2 });
    job.update({ n: 3 });
    job.respond({ done: true }, { urgent: true });
  });
  await startRunner(t, [r, w]);
  const order = [];
  r.on("jobUpdate", (m) => order.push(`update ${m.update.n}`));
  r.on("jobResponse", (m) => order.push(`response ${m.type}`));
  const ctx = r.job("w");
  assert.deepEqual(await ctx, { done: true });
  await waitFor(() => order.length === 4, { what: "four messages" });
  assert.deepEqual(order, ["response BusJobResponseUrgentMessage", "update 1", "update 2", "update 3"]);
  // The job completed before the updates arrived: its context yields none of them.
  assert.deepEqual(await drain(ctx), []);
});

test("system lane first: an urgent update overtakes queued normal updates", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  w.onJob(async (job) => {
    job.update("n1");
    job.update("n2");
    job.update("u3", { urgent: true });
    job.update("n4");
    await sleep(10);
    return "end";
  });
  await startRunner(t, [r, w]);
  const order = [];
  r.on("jobUpdate", (m) => order.push([m.type, m.update]));
  const ctx = r.job("w");
  assert.equal(await ctx, "end");
  await waitFor(() => order.length === 4, { what: "four updates" });
  assert.deepEqual(order, [
    ["BusJobUpdateUrgentMessage", "u3"],
    ["BusJobUpdateMessage", "n1"],
    ["BusJobUpdateMessage", "n2"],
    ["BusJobUpdateMessage", "n4"],
  ]);
  // The context yields them in arrival order.
  assert.deepEqual(
    (await drain(ctx)).map((e) => e.data),
    ["u3", "n1", "n2", "n4"],
  );
});

test("normal messages keep FIFO order: updates then a normal response", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  w.onJob((job) => {
    job.update(1);
    job.update(2);
    job.update(3);
    job.respond("last");
  });
  await startRunner(t, [r, w]);
  const order = [];
  r.on("jobUpdate", (m) => order.push(m.update));
  r.on("jobResponse", (m) => order.push(m.response));
  const ctx = r.job("w");
  assert.equal(await ctx, "last");
  await waitFor(() => order.length === 4, { what: "four messages" });
  assert.deepEqual(order, [1, 2, 3, "last"]);
  assert.deepEqual(
    (await drain(ctx)).map((e) => e.data),
    [1, 2, 3],
  );
});

test("delivery is never inline from a send", T, async (t) => {
  const r = new Worker("r");
  const w = new Worker("w");
  const x = new Worker("x", { active: false });
  const updates = record(r, "jobUpdate");
  const rBus = record(r, "busMessage");
  const observed = {};
  let handlerCalls = 0;
  w.onJob(async (job) => {
    handlerCalls++;
    const before = updates.length + rBus.length;
    const p1 = job.update({ n: 1 });
    observed.afterUpdate = updates.length + rBus.length - before;
    await p1;
    const before2 = updates.length + rBus.length;
    const p2 = w.sendJobUpdate(job.id, { n: 2 }, { urgent: true });
    observed.afterUrgentUpdate = updates.length + rBus.length - before2;
    await p2;
    const before3 = rBus.length;
    const p3 = job.respond("ok", { urgent: true });
    observed.afterRespond = rBus.length - before3;
    await p3;
  });
  const activated = record(x, "activated");
  await startRunner(t, [r, w, x]);

  const ctx = r.job("w");
  assert.equal(handlerCalls, 0, "creating a context runs nothing inline");
  assert.equal(await ctx, "ok");
  assert.deepEqual(observed, { afterUpdate: 0, afterUrgentUpdate: 0, afterRespond: 0 });

  const activating = r.activateWorker("x");
  assert.equal(activated.length, 0, "activation is not handled inline");
  await activating;
  await waitFor(() => activated.length === 1, { what: "activated" });
});

test("LocalBus instances are independent", T, async (t) => {
  const busA = new LocalBus();
  const busB = new LocalBus();
  const a = new Worker("a");
  const b = new Worker("b").onJob(() => "b");
  const ra = await startRunner(t, [a], { bus: busA });
  await startRunner(t, [b], { bus: busB });
  assert.equal(ra.bus, busA);
  const err = await a.job("b", { timeout: 40 }).then(
    () => null,
    (e) => e,
  );
  assert.equal(err?.message, "workers not ready within timeout");
  assert.deepEqual(ra.registry.remoteWorkers, []);
});
