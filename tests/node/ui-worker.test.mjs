// UIWorker: Pipecat's BaseUIWorker. Each group it requests is reported to the client UI as
// broadcast UI messages; the client's "__cancel_job_group" event cancels a cancellable group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JobGroupError, UIWorker, Worker } from "workbus";
import { T, startRunner, waitFor, record, catchError, deferred } from "./helpers.mjs";

const UI_TYPES = new Set(["BusUIJobGroupStartedMessage", "BusUIJobUpdateMessage", "BusUIJobCompletedMessage", "BusUIJobGroupCompletedMessage"]);
const uiMessages = (seen) => seen.filter((m) => UI_TYPES.has(m.type));

test("a group's life on the UI: started, updates, each worker's answer, completed", T, async (t) => {
  const ui = new UIWorker("ui");
  assert.ok(ui instanceof Worker);
  const research = new Worker("research").onJob(async (job) => {
    await job.update({ percent: 50 });
    return { found: 3 };
  });
  const writer = new Worker("writer").onJob(async (job) => {
    await job.streamStart({});
    await job.streamEnd({ text: "done" });
  });
  const runner = await startRunner(t, [ui, research, writer]);
  const seen = record(runner.bus, "message");
  const before = Date.now();
  const group = ui.jobGroup(["research", "writer"], { label: "Research: bees", payload: { q: "bees" } });
  await group;
  await waitFor(() => uiMessages(seen).length === 5, { what: "five UI messages" });
  const [started, update, ...rest] = uiMessages(seen);
  for (const m of uiMessages(seen)) {
    assert.deepEqual([m.source, m.target, m.jobId], ["ui", null, group.jobId]);
    assert.ok(Number.isInteger(m.at) && m.at >= before && m.at <= Date.now(), `at is epoch ms: ${m.at}`);
  }
  assert.deepEqual([started.type, started.workers, started.label, started.cancellable], ["BusUIJobGroupStartedMessage", ["research", "writer"], "Research: bees", true]);
  assert.deepEqual([update.type, update.workerName, update.data], ["BusUIJobUpdateMessage", "research", { percent: 50 }]);
  const completed = rest.filter((m) => m.type === "BusUIJobCompletedMessage").map((m) => [m.workerName, m.status, m.response]);
  assert.deepEqual(completed.sort(), [["research", "completed", { found: 3 }], ["writer", "completed", { text: "done" }]]);
  assert.equal(rest.at(-1).type, "BusUIJobGroupCompletedMessage");
});

test("the client's __cancel_job_group event cancels the group; workers cut short show as cancelled", T, async (t) => {
  const ui = new UIWorker("ui");
  const client = new Worker("client");
  const started = deferred();
  const stuck = new Worker("stuck").onJob((job) => {
    started.resolve();
    return new Promise((resolve) => job.signal.addEventListener("abort", () => resolve()));
  });
  const quick = new Worker("quick").onJob(() => ({ ok: true }));
  const runner = await startRunner(t, [ui, client, stuck, quick]);
  const seen = record(runner.bus, "message");
  const group = ui.jobGroup(["quick", "stuck"]);
  await started.promise;
  await waitFor(() => uiMessages(seen).some((m) => m.type === "BusUIJobCompletedMessage"), { what: "quick's answer on the UI" });
  await client.sendBusMessage({ type: "BusUIEventMessage", eventName: "__cancel_job_group", payload: { job_id: group.jobId } });
  const error = await catchError(group);
  assert.ok(error instanceof JobGroupError);
  assert.equal(error.reason, "cancelled by user");
  await waitFor(() => uiMessages(seen).some((m) => m.type === "BusUIJobGroupCompletedMessage"), { what: "the group closed on the UI" });
  const lines = uiMessages(seen).map((m) => [m.type, m.workerName ?? null, m.status ?? null]);
  assert.deepEqual(lines, [
    ["BusUIJobGroupStartedMessage", null, null],
    ["BusUIJobCompletedMessage", "quick", "completed"],
    ["BusUIJobCompletedMessage", "stuck", "cancelled"],
    ["BusUIJobGroupCompletedMessage", null, null],
  ]);
});

test("a malformed cancel event, or one for a group sent as not cancellable, changes nothing", T, async (t) => {
  const ui = new UIWorker("ui");
  const client = new Worker("client");
  const stuck = new Worker("stuck").onJob((job) => new Promise((resolve) => job.signal.addEventListener("abort", () => resolve())));
  await startRunner(t, [ui, client, stuck]);
  const seen = record(ui, "busMessage");
  const group = ui.jobGroup(["stuck"], { cancellable: false });
  const jobId = await group.started;
  for (const payload of [null, "x", { job_id: "" }, { job_id: 5 }, { job_id: jobId }]) {
    await client.sendBusMessage({ type: "BusUIEventMessage", target: "ui", eventName: "__cancel_job_group", payload });
  }
  // The worker handles its data lane in order: once it has this message, it has the events.
  await client.sendBusMessage({ type: "BusDataMessage", target: "ui" });
  await waitFor(() => seen.some((m) => m.type === "BusDataMessage"), { what: "a later message" });
  assert.equal(seen.filter((m) => m.type === "BusUIEventMessage").length, 5);
  assert.equal(ui.jobGroups.has(jobId), true, "the group is still open");
  await group.cancel("test over");
});
