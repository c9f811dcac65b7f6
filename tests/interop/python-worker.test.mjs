// Scenario 1: Python workers (real Pipecat, py_session.py) answer jobs from a workbus runner,
// over Redis pub/sub on Pipecat's default channel, with updates and streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JobError, JobGroupError, Worker } from "workbus";
import { PY_WORKERS, T, analyzeEvents, analyzeResponse, collect, jsWorker, median, pyRegistered, usePyJsSessions } from "./helpers.mjs";

const requester = new Worker("js-requester");
const helper = jsWorker("js-worker");
let py;
let js;
usePyJsSessions({ watch: ["js-requester", "js-worker"], workers: [requester, helper] }, (s) => ({ py, js } = s));

test("the registry handshake: each side registers the other's workers with their runner", T, async () => {
  const { registry } = js.runner;
  assert.equal(js.bus.channel, "pipecat:bus");
  for (const name of PY_WORKERS) {
    assert.deepEqual(registry.get(name), { workerName: name, runner: "runner-py" });
  }
  assert.ok(registry.remoteWorkers.includes("py-worker"));
  assert.deepEqual(registry.localWorkers.sort(), ["js-requester", "js-worker"]);
  for (const name of ["js-requester", "js-worker"]) {
    const seen = await pyRegistered(py, name);
    assert.equal(seen.runner, "runner-js");
  }
});

test("a Python worker answers with updates and a stream; the stream end is the response", T, async () => {
  const ctx = requester.job("py-worker", { name: "analyze", payload: { text: "workbus speaks pipecat" }, timeout: 10_000 });
  const { events, response, error } = await collect(ctx);
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents("workbus speaks pipecat", "py-worker"));
  assert.deepEqual(response, analyzeResponse("workbus speaks pipecat", "py-worker"));
  assert.match(ctx.jobId, /^[0-9a-f-]{36}$/);
});

test("payloads and responses keep their JSON values, unicode and bytes across languages", T, async () => {
  const payload = {
    text: "héllo wörld — ☃ 日本語 🎉",
    n: 42,
    ratio: 0.5,
    negative: -3,
    yes: true,
    no: false,
    nothing: null,
    list: [1, "two", [3], { four: 4 }, null],
    nested: { deep: { deeper: { deepest: "x" } }, empty: {} },
    escapes: 'quote " backslash \\ newline \n',
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
  };
  const response = await requester.job("py-worker", { name: "echo", payload, timeout: 10_000 });
  assert.deepEqual(response, payload);
  assert.ok(response.bytes instanceof Uint8Array);

  const bytes = await requester.job("py-worker", { name: "bytes", payload: { data: new Uint8Array([1, 2, 3, 4]) }, timeout: 10_000 });
  assert.deepEqual(bytes, { type: "bytes", length: 4, reversed: new Uint8Array([4, 3, 2, 1]) });
});

test("urgent updates and urgent responses cross as the urgent message types", T, async () => {
  const seen = [];
  const onMessage = (m) => seen.push(m.type);
  requester.on("busMessage", onMessage);
  const { events, response } = await collect(requester.job("py-worker", { name: "urgent", timeout: 10_000 }));
  requester.off("busMessage", onMessage);
  assert.deepEqual(events, [{ type: "update", data: { alert: true } }]);
  assert.deepEqual(response, { ok: true });
  assert.ok(seen.includes("BusJobUpdateUrgentMessage"), seen.join());
  assert.ok(seen.includes("BusJobResponseUrgentMessage"), seen.join());
});

test("an unnamed job reaches the Python worker's on_job_request hook; the runner can request too", T, async () => {
  assert.deepEqual(await requester.job("py-helper", { payload: { a: 1 }, timeout: 10_000 }), { default: true, payload: { a: 1 } });
  assert.deepEqual(await js.runner.job("py-helper", { name: "echo", payload: { from: "runner" }, timeout: 10_000 }), { from: "runner" });
});

test("a job group over two Python workers: events name their worker, responses by name", T, async () => {
  const group = requester.jobGroup(["py-worker", "py-helper"], { name: "analyze", payload: { text: "a b" }, timeout: 10_000 });
  const events = [];
  for await (const event of group) events.push(event);
  const responses = await group;
  assert.deepEqual(responses, {
    "py-worker": { summary: "A B", worker: "py-worker" },
    "py-helper": { summary: "A B", worker: "py-helper" },
  });
  for (const worker of ["py-worker", "py-helper"]) {
    assert.deepEqual(
      events.filter((e) => e.workerName === worker).map((e) => [e.type, e.data]),
      analyzeEvents("a b", worker).map((e) => [e.type, e.data]),
    );
  }
});

test("JS → Python → JS: a Python job handler runs a job on a JS worker", T, async () => {
  const response = await requester.job("py-worker", {
    name: "ask",
    payload: { worker: "js-worker", name: "echo", payload: { hop: 2 } },
    timeout: 10_000,
  });
  assert.deepEqual(response, { via: "py-worker", answer: { hop: 2 } });
  assert.ok(helper.requests.some((r) => r.source === "py-worker" && r.name === "echo"));
});

test("errors from the Python side keep Pipecat's reasons", T, async () => {
  await assert.rejects(requester.job("py-worker", { name: "fail", timeout: 10_000 }), (e) => {
    assert.ok(e instanceof JobError);
    assert.equal(e.reason, "worker 'py-worker' errored");
    assert.equal(e.message, "worker 'py-worker' errored");
    assert.equal(e.status, "failed");
    assert.equal(e.workerName, "py-worker");
    assert.deepEqual(e.response, { error: "bad input" });
    return true;
  });
  await assert.rejects(requester.jobGroup(["py-worker", "py-helper"], { name: "error", timeout: 10_000 }), (e) => {
    assert.ok(e instanceof JobGroupError);
    assert.equal(e.reason, "worker 'py-worker' errored");
    assert.equal(e.status, "error");
    return true;
  });
});

test("JS → Python round trip over Redis: median of 50 sequential jobs", T, async (t) => {
  for (let i = 0; i < 5; i++) await requester.job("py-worker", { name: "echo", payload: { i }, timeout: 10_000 });
  const samples = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    const r = await requester.job("py-worker", { name: "echo", payload: { i }, timeout: 10_000 });
    samples.push(performance.now() - t0);
    assert.deepEqual(r, { i });
  }
  const sorted = [...samples].sort((a, b) => a - b);
  t.diagnostic(`JS→Python job round trip over Redis: median ${median(samples).toFixed(2)} ms, p90 ${sorted[44].toFixed(2)} ms (n=50)`);
  assert.ok(median(samples) < 1000);
});
