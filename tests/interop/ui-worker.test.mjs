// UIWorker over Redis with Python Pipecat: the UI messages of a group that runs on a Python
// worker reach Python as Pipecat's UI classes, and a Python client-facing worker's
// "__cancel_job_group" event cancels the JavaScript group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JobGroupError, UIWorker } from "workbus";
import { T, usePyJsSessions } from "./helpers.mjs";

const ui = new UIWorker("js-ui");
let py;
usePyJsSessions({ workers: [ui] }, (s) => ({ py } = s));

// What py-helper (a bystander on the bus) saw of a group: the UI messages are broadcasts.
const uiSeen = (jobId) => py.events.filter((e) => e.event === "bus_message" && e.worker === "py-helper" && e.fields?.job_id === jobId);

test("a UIWorker's group on a Python worker: Python sees started, updates, completed, group completed", T, async () => {
  const group = ui.jobGroup(["py-worker"], { name: "analyze", payload: { text: "ui over redis" }, label: "Analyze", timeout: 10_000 });
  await group;
  const closed = await py.waitFor((e) => e.event === "bus_message" && e.worker === "py-helper" && e.type === "BusUIJobGroupCompletedMessage" && e.fields.job_id === group.jobId, 5000, "the group completed");
  assert.equal(closed.source, "js-ui");
  const seen = uiSeen(group.jobId);
  assert.deepEqual(seen.map((e) => e.type), [
    "BusUIJobGroupStartedMessage",
    "BusUIJobUpdateMessage",
    "BusUIJobUpdateMessage",
    "BusUIJobCompletedMessage",
    "BusUIJobGroupCompletedMessage",
  ]);
  const [started, update, , completed] = seen;
  assert.deepEqual({ ...started.fields, at: 0 }, { job_id: group.jobId, workers: ["py-worker"], label: "Analyze", cancellable: true, at: 0 });
  assert.ok(Number.isInteger(started.fields.at) && Math.abs(started.fields.at - Date.now()) < 60_000, `at is epoch ms: ${started.fields.at}`);
  assert.deepEqual([update.fields.worker_name, update.fields.data], ["py-worker", { percent: 50 }]);
  assert.deepEqual([completed.fields.worker_name, completed.fields.status, completed.fields.response], ["py-worker", "completed", { summary: "UI OVER REDIS", worker: "py-worker" }]);
});

test("a Python worker's __cancel_job_group UI event cancels the UIWorker's group", T, async () => {
  const group = ui.jobGroup(["py-worker"], { name: "slow", payload: { seconds: 30 }, timeout: 20_000 });
  const jobId = await group.started;
  await py.waitFor((e) => e.event === "job_started" && e.job_id === jobId, 5000, "the Python job start");
  py.send({ cmd: "ui_event", event_name: "__cancel_job_group", payload: { job_id: jobId, reason: "closed the card" } });
  await assert.rejects(group, (e) => e instanceof JobGroupError && e.reason === "closed the card");
  const cancelled = await py.waitFor((e) => e.event === "job_cancelled" && e.job_id === jobId, 5000, "the Python job cancelled");
  assert.deepEqual([cancelled.reason, cancelled.source], ["closed the card", "js-ui"]);
  await py.waitFor((e) => e.event === "bus_message" && e.worker === "py-helper" && e.type === "BusUIJobGroupCompletedMessage" && e.fields.job_id === jobId, 5000, "the card closed");
  assert.deepEqual(uiSeen(jobId).filter((e) => e.type === "BusUIJobCompletedMessage").map((e) => [e.fields.worker_name, e.fields.status]), [["py-worker", "cancelled"]]);
});
