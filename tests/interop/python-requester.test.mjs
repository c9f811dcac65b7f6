// Scenario 2: workbus workers answer jobs that a real Pipecat worker requests with
// `async with self.job(...)`, and a Pipecat `job_group(...)` spans Python and JS workers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, analyzeEvents, analyzeResponse, jsWorker, median, usePyJsSessions } from "./helpers.mjs";

const worker = jsWorker("js-worker");
const other = jsWorker("js-other");
let py;
let js;
// The JS runner starts first here: discovery must work in either start order.
usePyJsSessions({ watch: ["js-worker", "js-other"], workers: [worker, other], jsFirst: true, seenByPy: ["js-other"] }, (s) => ({ py, js } = s));

test("a Python job(...) to a JS worker: updates and stream events, the stream end as response", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "analyze", payload: { text: "from python" }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.events, analyzeEvents("from python", "js-worker"));
  assert.deepEqual(r.response, analyzeResponse("from python", "js-worker"));
  const request = worker.requests.find((q) => q.id === r.job_id);
  assert.deepEqual(request, { id: r.job_id, name: "analyze", source: "py-requester", payload: { text: "from python" } });
});

test("a JS handler's return value is a completed response; values survive the trip", T, async () => {
  const payload = { text: "ünïcödé ✓ 🎉", list: [1, 2.5, null, { k: [] }], flag: false, none: null, bytes: new Uint8Array([9, 8, 7]) };
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "echo", payload: { ...payload, bytes: { $bytes: "CQgH" } }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.response, payload);
  const response = py.events.find((e) => e.event === "job_response" && e.job_id === r.job_id);
  assert.equal(response.status, "completed");

  const b = await py.request({ cmd: "job", worker: "js-worker", name: "bytes", payload: { data: { $bytes: "AQID" } }, timeout: 10 });
  assert.deepEqual(b.response, { type: "Uint8Array", length: 3, reversed: new Uint8Array([3, 2, 1]) });

  const d = await py.request({ cmd: "job", worker: "js-other", payload: { x: 1 }, timeout: 10 });
  assert.deepEqual(d.response, { default: true, payload: { x: 1 } });
});

test("urgent update and urgent response from a JS worker", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "urgent", timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.events, [{ type: "update", data: { alert: true } }]);
  assert.deepEqual(r.response, { ok: true });
});

test("a Python job_group spans Python and JS workers", T, async () => {
  const r = await py.request({
    cmd: "group",
    workers: ["py-worker", "js-worker", "py-helper", "js-other"],
    name: "analyze",
    // Pipecat attaches a group's event queue only after it has sent every request, so events
    // that arrive before that are not yielded (upstream behaviour): the workers wait a little.
    payload: { text: "one two", delay: 0.2 },
    timeout: 10,
  });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.responses, {
    "py-worker": { summary: "ONE TWO", worker: "py-worker" },
    "js-worker": { summary: "ONE TWO", worker: "js-worker" },
    "py-helper": { summary: "ONE TWO", worker: "py-helper" },
    "js-other": { summary: "ONE TWO", worker: "js-other" },
  });
  for (const name of ["py-worker", "js-worker", "py-helper", "js-other"]) {
    assert.deepEqual(
      r.events.filter((e) => e.worker === name).map((e) => e.type),
      ["update", "update", "stream_start", "stream_data", "stream_data", "stream_end"],
      name,
    );
  }
});

test("Python → JS → Python: a JS job handler runs a job on a Python worker", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "ask", payload: { worker: "py-helper", name: "echo", payload: { hop: 2 } }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.response, { via: "js-worker", answer: { hop: 2 } });
});

test("a JS worker's answers with status failed, error or a thrown error fail Pipecat's job", T, async () => {
  const failed = await py.request({ cmd: "job", worker: "js-worker", name: "fail", timeout: 10 });
  assert.deepEqual([failed.ok, failed.error_type, failed.error], [false, "JobError", "worker 'js-worker' errored"]);
  let seen = py.events.find((e) => e.event === "job_response" && e.job_id === failed.job_id);
  assert.deepEqual([seen.status, seen.response], ["failed", { error: "bad input" }]);

  const thrown = await py.request({ cmd: "job", worker: "js-worker", name: "throw", timeout: 10 });
  assert.deepEqual([thrown.ok, thrown.error_type, thrown.error], [false, "JobError", "worker 'js-worker' errored"]);
  seen = py.events.find((e) => e.event === "job_response" && e.job_id === thrown.job_id);
  assert.deepEqual([seen.status, seen.response], ["error", { error: "js handler failed" }]);

  const group = await py.request({ cmd: "group", workers: ["py-worker", "js-worker"], name: "mixed", payload: { fail: ["js-worker"], seconds: 5 }, timeout: 10 });
  assert.deepEqual([group.ok, group.error_type, group.error], [false, "JobGroupError", "worker 'js-worker' errored"]);
  // cancel_on_error: Pipecat cancels the rest of the group, the Python worker included.
  const cancelled = await py.waitFor((e) => e.event === "job_cancelled" && e.job_id === group.job_id, 5000, "cancel of py-worker");
  assert.deepEqual([cancelled.worker, cancelled.reason, cancelled.source], ["py-worker", "worker 'js-worker' errored", "py-requester"]);
});

test("a group with cancel_on_error=False records a JS worker's failure as its response", T, async () => {
  const r = await py.request({
    cmd: "group",
    workers: ["js-worker", "py-worker", "js-other"],
    name: "mixed",
    payload: { fail: ["js-worker"] },
    cancel_on_error: false,
    timeout: 10,
  });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.responses, { "js-worker": { error: "js-worker failed" }, "py-worker": { ok: "py-worker" }, "js-other": { ok: "js-other" } });
});

test("a JS worker answering cancelled on its own completes Pipecat's job with that response", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "cancelled", timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.response, { reason: "not today" });
  const seen = py.events.find((e) => e.event === "job_response" && e.job_id === r.job_id);
  assert.equal(seen.status, "cancelled");
});

test("Python → JS round trip over Redis: median of 50 sequential jobs", T, async (t) => {
  const r = await py.request({ cmd: "bench", worker: "js-worker", name: "echo", n: 50, warmup: 5 }, 30_000);
  t.diagnostic(`Python→JS job round trip over Redis: median ${r.median_ms.toFixed(2)} ms, p90 ${r.p90_ms.toFixed(2)} ms (n=${r.n})`);
  assert.equal(r.n, 50);
  assert.ok(r.median_ms < 1000);
  assert.ok(median(r.samples_ms) > 0);
});

test("a JS worker's endSession() ends the Python runner (BusEndMessage), and vice versa for JS", T, async () => {
  await worker.endSession({ reason: "js is done" });
  const finished = await py.waitFor((e) => e.event === "finished", 10_000, "the Python runner to finish");
  assert.equal(finished.reason, "runner finished");
  await js.runner.finished;
  const { code } = await py.exit;
  assert.equal(code, 0);
});
