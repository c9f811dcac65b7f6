// workbus and Python Pipecat on one pgmq channel of a private PostgreSQL: py_session.py runs a
// Pipecat WorkerRunner on Pipecat's PgmqBus (pgmq's PGMQueue, the direct backend), this process
// a WorkerRunner on workbus's PgmqBus; both on the default channel. Jobs, streams, cancels and
// timeouts cross both ways.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { JobError, Worker } from "workbus";
import { PY_WORKERS, T, analyzeEvents, analyzeResponse, collect, jsWorker, pyRegistered, startPgmqJsSession, startPySession, waitRegistered, waitUntil } from "./helpers.mjs";
import { startPostgres } from "./postgres.mjs";

let postgres;
let py;
let session;
let pool;
let bus;
let runner;
const worker = jsWorker("js-worker");
const requester = new Worker("js-requester");

before(async () => {
  postgres = await startPostgres();
  session = await startPgmqJsSession(postgres.url, { workers: [worker, requester] });
  ({ pool, bus, runner } = session);
  py = await startPySession(postgres.url, { watch: ["js-worker"] });
  await pyRegistered(py, "js-worker");
  await waitRegistered(runner.registry, PY_WORKERS);
});

after(async () => {
  await py?.stop();
  await session?.close();
  await postgres?.stop();
});

test("the registry handshake over pgmq: each side registers the other's workers with their runner", T, async () => {
  assert.deepEqual(runner.registry.get("py-worker"), { workerName: "py-worker", runner: "runner-py" });
  const seen = await pyRegistered(py, "js-worker");
  assert.equal(seen.runner, "runner-js");
  // Both buses have their queue on Pipecat's default channel.
  const queues = (await pool.query("SELECT queue_name FROM pgmq.list_queues()")).rows.map((r) => r.queue_name);
  assert.equal(queues.filter((q) => /^pipecat_bus_[0-9a-f]{12}$/.test(q)).length, 2, JSON.stringify(queues));
});

test("JS → Python: updates, a stream and the response of a Pipecat worker", T, async () => {
  const { events, response, error } = await collect(requester.job("py-worker", { name: "analyze", payload: { text: "over pgmq" }, timeout: 10_000 }));
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents("over pgmq", "py-worker"));
  assert.deepEqual(response, analyzeResponse("over pgmq", "py-worker"));
});

test("Python → JS: a Pipecat job(...) to a workbus worker, values intact", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "analyze", payload: { text: "from python via postgres" }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  // Python's pgmq reader delivers a batch in the order pgmq.read returns it, which is not the
  // order sent (Pipecat's own behaviour; PgmqBus sorts by msg_id): compare the events as a set.
  // (jsonb does not keep key order either, which deepEqual ignores.)
  const inOrder = (events) => [...events].sort((a, b) => (a.type + JSON.stringify(Object.values(a.data ?? {}).sort())).localeCompare(b.type + JSON.stringify(Object.values(b.data ?? {}).sort())));
  assert.deepEqual(inOrder(r.events), inOrder(analyzeEvents("from python via postgres", "js-worker")));
  assert.deepEqual(r.response, analyzeResponse("from python via postgres", "js-worker"));
  const payload = { text: "ünïcödé ✓", list: [1, 2.5, null, { k: [] }], flag: false, none: null };
  const e = await py.request({ cmd: "job", worker: "js-worker", name: "echo", payload, timeout: 10 });
  assert.equal(e.ok, true, JSON.stringify(e));
  assert.deepEqual(e.response, payload);
});

test("a Pipecat job group spans a Python and a JS worker", T, async () => {
  const r = await py.request({ cmd: "group", workers: ["py-helper", "js-worker"], name: "echo", payload: { n: 3 }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.responses, { "py-helper": { n: 3 }, "js-worker": { n: 3 } });
});

test("a cancel from JS reaches the Python worker's job", T, async () => {
  const ctx = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, timeout: 10_000 });
  const jobId = await ctx.started;
  await py.waitFor((ev) => ev.event === "job_started" && ev.job_id === jobId, 10_000, "the slow job");
  await ctx.cancel("changed my mind");
  const error = await ctx.then(() => null, (e) => e);
  assert.equal(error?.reason, "changed my mind");
  const cancelled = await py.waitFor((ev) => ev.event === "job_cancelled" && ev.job_id === jobId, 10_000, "the cancel");
  assert.equal(cancelled.reason, "changed my mind");
});

test("JS → Python: a timeout fails the job with 'timeout' and the Python handler sees the cancel", T, async () => {
  const ctx = requester.job("py-worker", { name: "slow", payload: { seconds: 30 }, timeout: 500 });
  const jobId = await ctx.started;
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "timeout" && e.message === "timeout");
  const cancelled = await py.waitFor((ev) => ev.event === "job_cancelled" && ev.job_id === jobId, 10_000, "the timeout's cancel");
  assert.deepEqual([cancelled.worker, cancelled.reason, cancelled.source], ["py-worker", "timeout", "js-requester"]);
});

/** The abort of the JS worker's "slow" handler for `jobId`, once its signal has fired. */
const jsAborted = (jobId) => waitUntil(() => worker.aborted.find((a) => a.id === jobId), 10_000, `the abort of ${jobId} in the JS handler`);

test("Python → JS: Pipecat's timeout fails with JobError('timeout') and the JS handler's signal aborts with 'timeout'", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "slow", payload: { seconds: 30 }, timeout: 0.5 });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobError", "timeout"]);
  assert.equal((await jsAborted(r.job_id)).reason, "timeout");
  const cancel = await waitUntil(() => worker.cancelled.find((m) => m.jobId === r.job_id), 10_000, "the cancel message");
  assert.deepEqual([cancel.type, cancel.source, cancel.target, cancel.reason], ["BusJobCancelMessage", "py-requester", "js-worker", "timeout"]);
});

test("Python → JS: cancel_job_group(reason) aborts the JS handler's signal with that reason", T, async () => {
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "slow", payload: { seconds: 30 }, timeout: 10, cancel_after: 0.5, cancel_reason: "python changed its mind" });
  assert.deepEqual([r.ok, r.error_type, r.error], [false, "JobError", "python changed its mind"]);
  assert.equal((await jsAborted(r.job_id)).reason, "python changed its mind");
  // The JS worker answers the cancel as Pipecat's workers do.
  const answer = await py.waitFor((ev) => ev.event === "job_response" && ev.job_id === r.job_id, 10_000, "the cancelled answer");
  assert.deepEqual([answer.source, answer.status, answer.response], ["js-worker", "cancelled", { reason: "python changed its mind" }]);
});
