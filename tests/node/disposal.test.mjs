// Disposal (the API contract): `await using runner = new WorkerRunner()` ends the runner;
// buses close, realm handles terminate, contexts of unfinished jobs cancel. Node 20 has the
// symbols but not the `using` syntax, so the methods are called here directly (the syntax
// itself is tested in Chromium: tests/browser/realm-failures.test.mjs).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { JobError, LocalBus, Worker, WorkerRunner, spawnWorker } from "workbus";
import { catchError, catchSync, deferred, startRunner } from "./helpers.mjs";

const T = { timeout: 15_000 };

after(() => {
  setTimeout(() => {
    console.error("disposal.test.mjs: still alive 5 s after the last test:", process.getActiveResourcesInfo());
    process.exit(1);
  }, 5000).unref();
});

test("Symbol.asyncDispose ends a runner gracefully: a running handler's answer still arrives", T, async () => {
  const release = deferred();
  const slow = new Worker("slow").onJob(() => release.promise);
  const runner = new WorkerRunner();
  await runner.addWorkers(slow);
  await runner.start({ autoEnd: false });
  const job = runner.job("slow");
  await job.started;
  const disposed = runner[Symbol.asyncDispose]();
  assert.ok(disposed instanceof Promise);
  release.resolve("done");
  await disposed;
  assert.equal(await job, "done");
  await runner.finished;
  assert.match(catchSync(() => runner.job("slow")).message, /has finished/);
});

test("disposing a job's context cancels it when unfinished, and leaves a finished one alone", T, async (t) => {
  let signal;
  const waits = new Worker("waits").onJob((job) => {
    signal = job.signal;
    return new Promise(() => {});
  });
  const echo = new Worker("echo").onJob((job) => job.payload);
  const runner = await startRunner(t, [waits, echo]);
  const job = runner.job("waits");
  await job.started;
  job[Symbol.dispose]();
  const error = await catchError(job);
  assert.ok(error instanceof JobError);
  assert.equal(error.reason, "cancelled");
  assert.equal(signal.aborted, true, "the handler's signal aborted");

  const group = runner.jobGroup(["waits", "echo"]);
  await group.started;
  await group[Symbol.asyncDispose]();
  assert.equal((await catchError(group)).reason, "cancelled");

  const done = runner.job("echo", { payload: 7 });
  assert.equal(await done, 7);
  done[Symbol.dispose]();
  await done[Symbol.asyncDispose]();
  assert.equal(await done, 7);
  assert.equal(done.status, "completed");
});

test("disposing a bus closes its links", T, async () => {
  const { port1, port2 } = new MessageChannel();
  const bus = new LocalBus();
  bus.connect(port1);
  assert.equal(port1.listenerCount("message"), 1);
  bus[Symbol.dispose]();
  assert.equal(port1.listenerCount("message"), 0);
  const other = new LocalBus();
  other.connect(port2);
  await other[Symbol.asyncDispose]();
  assert.equal(port2.listenerCount("message"), 0);
  port1.close();
});

test("disposing a realm handle terminates its thread and its workers leave", T, async (t) => {
  const runner = new WorkerRunner();
  t.after(() => runner.cancel());
  await runner.start({ autoEnd: false });
  const realm = await spawnWorker(runner, new URL("./realm-failures.worker.mjs", import.meta.url));
  assert.equal(runner.registry.has("answers"), true);
  const exited = new Promise((resolve) => realm.worker.once("exit", resolve));
  await realm[Symbol.asyncDispose]();
  await exited;
  assert.equal(runner.registry.has("answers"), false);
});
