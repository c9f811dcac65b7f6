// The package through require("workbus"): a representative subset, and `instanceof` with the
// classes CommonJS code gets.
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const workbus = require("workbus");
const {
  WorkerRunner,
  Worker,
  WorkerRegistry,
  JobStatus,
  JobEvent,
  JobGroupEvent,
  JobError,
  JobGroupError,
  WorkerActivationArgs,
  LLMWorkerActivationArgs,
  LocalBus,
} = workbus;

const { T, sleep, within, startRunner, startPair, throwingWorker, catchError } = require("./helpers.cjs");

test("CJS: every export of the contract is there", T, () => {
  for (const name of [
    "WorkerRunner",
    "Worker",
    "WorkerRegistry",
    "JobStatus",
    "JobEvent",
    "JobGroupEvent",
    "JobError",
    "JobGroupError",
    "WorkerActivationArgs",
    "LLMWorkerActivationArgs",
    "LocalBus",
  ]) {
    assert.ok(workbus[name] !== undefined, `missing export ${name}`);
  }
  assert.equal(typeof WorkerRunner, "function");
  assert.equal(typeof Worker, "function");
  assert.equal(typeof JobError, "function");
  assert.equal(JobStatus.COMPLETED, "completed");
  assert.equal(JobEvent.STREAM_DATA, "stream_data");
  assert.equal(JobGroupEvent.UPDATE, "update");
});

test("CJS: a job round trip with payload by reference", T, async (t) => {
  const echo = (job) => ({ payload: job.payload, source: job.source });
  const { r, runner } = await startPair(t, (w) => w.onJob("echo", echo), { name: "cjs-runner" });
  assert.ok(runner.registry instanceof WorkerRegistry);
  assert.ok(runner.bus instanceof LocalBus);
  const payload = { hello: "world" };
  const res = await r.job("w", { name: "echo", payload });
  assert.equal(res.payload, payload);
  assert.equal(res.source, "r");
  const viaRunner = await runner.job("w", { name: "echo", payload: 1 });
  assert.equal(viaRunner.source, "cjs-runner");
  const group = await r.jobGroup(["w"], { name: "echo", payload: 2 });
  assert.deepEqual(group, { w: { payload: 2, source: "r" } });
});

test("CJS: errors are instances of the CommonJS JobError / JobGroupError", T, async (t) => {
  const r = new Worker("r");
  await startRunner(t, [r, throwingWorker("w", "cjs boom")]);

  const ctx = r.job("w");
  const err = await catchError(ctx);
  assert.ok(err instanceof Error);
  assert.ok(err instanceof JobError);
  assert.ok(!(err instanceof JobGroupError));
  assert.equal(err.name, "JobError");
  assert.equal(err.message, "worker 'w' errored");
  assert.equal(err.reason, "worker 'w' errored");
  assert.equal(err.jobId, ctx.jobId);
  assert.equal(err.workerName, "w");
  assert.equal(err.status, JobStatus.ERROR);
  assert.deepEqual(err.response, { error: "cjs boom" });

  const gerr = await catchError(r.jobGroup(["w"]));
  assert.ok(gerr instanceof JobGroupError);
  assert.ok(gerr instanceof JobError);
  assert.equal(gerr.name, "JobGroupError");
  assert.deepEqual(gerr.responses, { w: { error: "cjs boom" } });

  const ready = await catchError(r.job("ghost", { timeout: 20 }));
  assert.ok(ready instanceof JobError);
  assert.ok(!(ready instanceof JobGroupError));
  assert.equal(ready.message, "workers not ready within timeout");

  const t1 = await catchError(r.jobGroup(["ghost"], { timeout: 20 }));
  assert.ok(t1 instanceof JobGroupError);
});

test("CJS: iteration, updates and streams", T, async (t) => {
  const { r } = await startPair(t, (w) =>
    w.onJob(async (job) => {
      await job.update("u");
      await job.streamStart("s");
      await job.streamData("d");
      await job.streamEnd("e");
    }),
  );
  const ctx = r.job("w");
  const events = [];
  for await (const ev of ctx) events.push(ev);
  assert.deepEqual(events, [
    { type: "update", data: "u" },
    { type: "stream_start", data: "s" },
    { type: "stream_data", data: "d" },
    { type: "stream_end", data: "e" },
  ]);
  assert.equal(await ctx, "e");
});

test("CJS: bad input throws TypeError; unattached workers reject", T, async () => {
  assert.throws(() => new Worker(42), (e) => e instanceof TypeError && /name/.test(e.message));
  const w = new Worker("alone");
  assert.throws(() => w.onJob("x", 5), (e) => e instanceof TypeError && /handler/.test(e.message));
  assert.throws(() => w.jobGroup([]), TypeError);
  const err = await catchError(w.requestJob("x"));
  assert.equal(err.message, "Worker 'alone' is not attached to a runner");
  assert.throws(() => w.job("x"), { message: "Worker 'alone' is not attached to a runner" });
});

test("CJS: activation args and activation", T, async (t) => {
  assert.deepEqual(WorkerActivationArgs.fromDict({ metadata: { a: 1 }, junk: 1 }).toDict(), { metadata: { a: 1 } });
  const llm = LLMWorkerActivationArgs.fromDict({ messages: [{ role: "user", content: "x" }] });
  assert.equal(llm.runLlm, true);
  assert.deepEqual(llm.toDict(), { messages: [{ role: "user", content: "x" }] });
  assert.equal(LLMWorkerActivationArgs.fromDict({}).runLlm, false);
  assert.deepEqual(LLMWorkerActivationArgs.fromDict({ run_llm: false }).toDict(), { run_llm: false });

  const a = new Worker("a");
  const b = new Worker("b", { active: false });
  const activated = new Promise((resolve) => b.once("activated", resolve));
  await startRunner(t, [a, b]);
  await a.activateWorker("b", { args: WorkerActivationArgs.fromDict({ metadata: { a: 1 } }) });
  assert.deepEqual(await within(activated, 1000, '"activated"'), { metadata: { a: 1 } });
  assert.equal(b.active, true);
});

test("CJS: runner lifecycle", T, async () => {
  const runner = new WorkerRunner();
  assert.match(runner.name, /^runner-[0-9a-f]{8}$/);
  const w = new Worker("w");
  await runner.addWorkers(w);
  const running = runner.run();
  await sleep(10);
  await w.stop();
  await running;
  let finished = false;
  await runner.finished.then(() => (finished = true));
  assert.equal(finished, true);
});
