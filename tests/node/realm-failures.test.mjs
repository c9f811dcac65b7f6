// Realms fail loudly and never hang (the API contract): a worker script that cannot load or
// throws while loading rejects spawnWorker at once; a realm that fails later is reported and its
// workers are gone; a value that cannot be cloned for a link fails its job, response, update or
// stream chunk at once and is reported on the bus's "error" event.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Worker as NodeWorker } from "node:worker_threads";
import { JobError, WorkerRunner, spawnWorker } from "workbus";
import { catchError, record, waitFor } from "./helpers.mjs";

const T = { timeout: 15_000 };
const SCRIPT = new URL("./realm-failures.worker.mjs", import.meta.url);
/** Well under the 10 s readiness timeout: what "at once" means here. */
const AT_ONCE_MS = 3000;

after(() => {
  setTimeout(() => {
    console.error("realm-failures.test.mjs: still alive 5 s after the last test:", process.getActiveResourcesInfo());
    process.exit(1);
  }, 5000).unref();
});

async function spawned(t) {
  const runner = new WorkerRunner();
  await runner.start({ autoEnd: false });
  const realm = await spawnWorker(runner, SCRIPT);
  t.after(() => runner.cancel());
  return { runner, realm };
}

test("spawnWorker with a missing script rejects at once, naming the script, with the realm's error as cause", T, async (t) => {
  const runner = new WorkerRunner();
  t.after(() => runner.cancel());
  const missing = new URL("./no-such-realm.worker.mjs", import.meta.url);
  const t0 = Date.now();
  const error = await catchError(spawnWorker(runner, missing, { timeout: 10_000 }));
  assert.ok(Date.now() - t0 < AT_ONCE_MS, `rejected after ${Date.now() - t0} ms`);
  assert.ok(error instanceof Error);
  assert.match(error.message, /no-such-realm\.worker\.mjs/);
  assert.match(error.message, /failed to load/);
  assert.match(error.cause?.code ?? "", /MODULE_NOT_FOUND/);
});

test("spawnWorker with a script that throws while loading rejects at once with that error as cause", T, async (t) => {
  const runner = new WorkerRunner();
  t.after(() => runner.cancel());
  const thread = new NodeWorker(SCRIPT, { workerData: { mode: "throw" } });
  const t0 = Date.now();
  const error = await catchError(spawnWorker(runner, thread, { timeout: 10_000 }));
  assert.ok(Date.now() - t0 < AT_ONCE_MS, `rejected after ${Date.now() - t0} ms`);
  assert.match(error.message, /failed to load: boom while loading/);
  assert.equal(error.cause?.message, "boom while loading");
});

test("a realm that fails after it was spawned is reported on the bus, and its pending jobs fail 'stopped'", T, async (t) => {
  const { runner } = await spawned(t);
  const errors = record(runner.bus, "error");
  const error = await catchError(runner.job("crashes"));
  assert.ok(error instanceof JobError);
  assert.equal(error.reason, "worker 'crashes' stopped");
  await waitFor(() => errors.length > 0, { what: "the bus error event" });
  assert.match(errors[0].message, /realm-failures\.worker\.mjs failed: late boom/);
  assert.equal(errors[0].cause?.message, "late boom");
  assert.equal(runner.registry.has("answers"), false, "the realm's other workers are gone too");
});

test("a payload that cannot be cloned fails the job at once with the clone error as cause", T, async (t) => {
  const { runner } = await spawned(t);
  const errors = record(runner.bus, "error");
  const t0 = Date.now();
  const error = await catchError(runner.job("answers", { payload: { fn: () => {} } }));
  assert.ok(Date.now() - t0 < AT_ONCE_MS);
  assert.ok(error instanceof JobError);
  assert.equal(error.cause?.name, "DataCloneError");
  assert.equal(error.reason, `could not send the job to worker 'answers': ${error.cause.message}`);
  assert.equal(error.workerName, "answers");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].cause, error.cause);
  assert.match(errors[0].message, /BusJobRequestMessage/);
});

test("a response that cannot be cloned answers the job 'error' with the clone error's message", T, async (t) => {
  const { runner } = await spawned(t);
  const error = await catchError(runner.job("answers", { timeout: 10_000 }));
  assert.ok(error instanceof JobError);
  assert.equal(error.reason, "worker 'answers' errored");
  assert.equal(error.status, "error");
  assert.match(error.response.error, /could not be cloned/);
});

test("an update or a stream chunk that cannot be cloned rejects the handler's call", T, async (t) => {
  const { runner } = await spawned(t);
  const ctx = runner.job("sends", { timeout: 10_000 });
  const events = [];
  for await (const ev of ctx) events.push(ev);
  assert.deepEqual(events, [], "nothing crossed");
  const { update, streamData, streamEnd } = await ctx;
  for (const [call, what] of [[update, "an update"], [streamData, "a stream message"], [streamEnd, "a stream message"]]) {
    assert.equal(call.cause, "DataCloneError");
    assert.equal(call.message, `Worker 'sends': could not send ${what} of job '${ctx.jobId}': ${call.causeMessage}`);
  }
});
