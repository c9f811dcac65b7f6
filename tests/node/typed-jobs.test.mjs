// Requesting a job from a Worker object (what its typings type from the worker's handlers):
// only the worker's name is sent, so the worker may be local or on another runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner } from "workbus";
import { T, catchSync, startRunner, waitFor, linkedBuses } from "./helpers.mjs";

/** "ocr", whose "read" handler answers the page it read and the job's name and source. */
const ocrWorker = () => new Worker("ocr").onJob("read", (job) => ({ text: `page ${job.payload.page}`, name: job.name, source: job.source }));

test("runner.job(worker, params) requests the job from that worker by name", T, async (t) => {
  const ocr = ocrWorker();
  const runner = await startRunner(t, [ocr], { name: "main" });
  assert.deepEqual(await runner.job(ocr, { name: "read", payload: { page: 3 } }), { text: "page 3", name: "read", source: "main" });
});

test("worker.job(worker, params) requests as that worker, and events flow as for a name", T, async (t) => {
  const ocr = new Worker("ocr").onJob("read", async (job) => {
    await job.update({ percent: 50 });
    return { text: "done" };
  });
  const asker = new Worker("asker");
  await startRunner(t, [ocr, asker]);
  const ctx = asker.job(ocr, { name: "read", payload: {} });
  const events = [];
  for await (const event of ctx) events.push(event);
  assert.deepEqual(events, [{ type: "update", data: { percent: 50 } }]);
  assert.deepEqual(await ctx, { text: "done" });
});

test("requestJob(worker, params) sends the job to that worker by name", T, async (t) => {
  const asker = new Worker("asker");
  const seen = [];
  const ocr = new Worker("ocr").onJob("read", (job) => {
    seen.push([job.name, job.payload, job.source]);
  });
  await startRunner(t, [ocr, asker]);
  const jobId = await asker.requestJob(ocr, { name: "read", payload: { page: 1 } });
  assert.equal(typeof jobId, "string");
  await waitFor(() => seen.length === 1, { what: "the request at ocr" });
  assert.deepEqual(seen, [["read", { page: 1 }, "asker"]]);
});

test("job(worker) reaches a worker hosted by another runner: only its name crosses", T, async (t) => {
  const { busA, busB } = await linkedBuses(t);
  const ocr = ocrWorker();
  const near = await startRunner(t, [], { name: "near", bus: busA });
  await startRunner(t, [ocr], { name: "far", bus: busB });
  await waitFor(() => near.registry.has("ocr"), { timeout: 2000, what: "ocr in near's registry" });
  assert.deepEqual(await near.job(ocr, { name: "read", payload: { page: 9 }, timeout: 2000 }), { text: "page 9", name: "read", source: "near" });
});

test("job() refuses an object that is not a Worker, naming the argument", T, async (t) => {
  const runner = await startRunner(t, [ocrWorker()]);
  for (const [value, described] of [[{ name: "ocr" }, "an object"], [new WorkerRunner({ name: "ocr" }), "an object"]]) {
    const error = catchSync(() => runner.job(value, { name: "read" }));
    assert.ok(error instanceof TypeError, `${error}`);
    assert.equal(error.message, `workerName must be a string, got ${described}`);
  }
});
