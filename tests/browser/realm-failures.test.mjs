// Realms fail loudly and never hang, in Chromium (the API contract): a Web Worker script that
// cannot load or throws while loading rejects spawnWorker at once; a Web Worker that fails later
// is reported and ended; a value that cannot be cloned fails its job, response, update or stream
// chunk at once. Also `await using` (explicit resource management, which Chromium has).
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

/** Well under the 10 s readiness timeout: what "at once" means here. */
const AT_ONCE_MS = 3000;

const env = useServerAndBrowser();

async function failuresPage(t) {
  const opened = await openPage(env.browser.context, `${env.server.origin}/realm-failures.html`);
  t.after(() => opened.page.close());
  return opened;
}

/** The page's uncaught errors (what reached window.onerror): there must be none. */
const uncaught = ({ errors }) => errors.filter((e) => e.startsWith("[pageerror]"));

test("spawnWorker with a missing script rejects at once, naming the script", T, async (t) => {
  const opened = await failuresPage(t);
  const result = await opened.page.evaluate(async () => {
    const { WorkerRunner, spawnWorker } = window.workbus;
    const runner = new WorkerRunner();
    const t0 = performance.now();
    try {
      await spawnWorker(runner, new URL("./no-such-realm.worker.js", location.href), { timeout: 10_000 });
      return { resolved: true };
    } catch (e) {
      return { elapsed: performance.now() - t0, message: e.message, causeIsError: e.cause instanceof Error };
    } finally {
      await runner.cancel();
    }
  });
  assert.ok(result.elapsed < 3000, `rejected after ${result.elapsed} ms`);
  assert.match(result.message, /no-such-realm\.worker\.js failed to load/);
  assert.equal(result.causeIsError, true);
  assert.deepEqual(uncaught(opened), []);
});

test("spawnWorker with a script that throws while loading rejects at once with its error", T, async (t) => {
  const opened = await failuresPage(t);
  const result = await opened.page.evaluate(async () => {
    const { WorkerRunner, spawnWorker } = window.workbus;
    const runner = new WorkerRunner();
    const t0 = performance.now();
    try {
      await spawnWorker(runner, window.realmScript, { name: "throw", timeout: 10_000 });
      return { resolved: true };
    } catch (e) {
      return { elapsed: performance.now() - t0, message: e.message, cause: e.cause?.message };
    } finally {
      await runner.cancel();
    }
  });
  assert.ok(result.elapsed < AT_ONCE_MS, `rejected after ${result.elapsed} ms`);
  assert.match(result.message, /realm-failures\.worker\.js failed to load: .*boom while loading/);
  assert.match(result.cause, /boom while loading/);
  assert.deepEqual(uncaught(opened), []);
});

test("a Web Worker that fails later is reported and ended: its pending jobs fail 'stopped'", T, async (t) => {
  const opened = await failuresPage(t);
  const result = await opened.page.evaluate(async () => {
    const { WorkerRunner, spawnWorker } = window.workbus;
    const runner = new WorkerRunner();
    await runner.start({ autoEnd: false });
    await spawnWorker(runner, window.realmScript);
    const errors = [];
    runner.bus.on("error", (e) => errors.push({ message: e.message, cause: e.cause?.message }));
    const t0 = performance.now();
    const reason = await runner.job("crashes").then(() => "answered", (e) => e.reason);
    const elapsed = performance.now() - t0;
    await runner.cancel();
    return { reason, elapsed, errors, remote: runner.registry.remoteWorkers };
  });
  assert.equal(result.reason, "worker 'crashes' stopped");
  assert.ok(result.elapsed < AT_ONCE_MS, `failed after ${result.elapsed} ms`);
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0].message, /realm-failures\.worker\.js failed: .*late boom/);
  assert.match(result.errors[0].cause, /late boom/);
  assert.deepEqual(result.remote, []);
  assert.deepEqual(uncaught(opened), []);
});

test("values that cannot be cloned: a payload, a response, an update and stream chunks fail at once", T, async (t) => {
  const opened = await failuresPage(t);
  const result = await opened.page.evaluate(async () => {
    const { JobError, WorkerRunner, spawnWorker } = window.workbus;
    const runner = new WorkerRunner();
    await runner.start({ autoEnd: false });
    await spawnWorker(runner, window.realmScript);
    const reported = [];
    runner.bus.on("error", (e) => reported.push(e.cause?.name));
    const payload = await runner.job("answers", { payload: { fn: () => {} } }).then(
      () => null,
      (e) => ({ isJobError: e instanceof JobError, cause: e.cause?.name, reason: e.reason }),
    );
    const response = await runner.job("answers", { timeout: 10_000 }).then(
      () => null,
      (e) => ({ reason: e.reason, status: e.status, error: e.response?.error }),
    );
    const ctx = runner.job("sends", { timeout: 10_000 });
    const calls = await ctx;
    await runner.cancel();
    return { payload, response, calls, jobId: ctx.jobId, reported };
  });
  assert.equal(result.payload.isJobError, true);
  assert.equal(result.payload.cause, "DataCloneError");
  assert.match(result.payload.reason, /^could not send the job to worker 'answers': /);
  assert.equal(result.response.reason, "worker 'answers' errored");
  assert.equal(result.response.status, "error");
  assert.match(result.response.error, /could not be cloned/);
  for (const [name, what] of [["update", "an update"], ["streamData", "a stream message"], ["streamEnd", "a stream message"]]) {
    const call = result.calls[name];
    assert.equal(call.cause, "DataCloneError", name);
    assert.equal(call.message, `Worker 'sends': could not send ${what} of job '${result.jobId}': ${call.causeMessage}`);
  }
  assert.deepEqual(result.reported, ["DataCloneError"], "the page's bus reported the payload it could not send");
});

test("await using: a runner ends, a realm terminates, a job's context cancels, a bus closes", T, async (t) => {
  const opened = await failuresPage(t);
  // As source text: this file runs on a Node without `using` syntax; the page's Chromium has it.
  const result = await opened.page.evaluate(`(async () => {
    const { LocalBus, Worker, WorkerRunner, spawnWorker } = window.workbus;
    const seen = {};
    let runner;
    let ctx;
    let handlerSignal;
    {
      await using r = new WorkerRunner();
      runner = r;
      const slow = new Worker("slow").onJob((job) => {
        handlerSignal = job.signal;
        return new Promise(() => {});
      });
      await r.addWorkers(slow);
      await r.start({ autoEnd: false });
      await using realm = await spawnWorker(r, window.realmScript);
      seen.realmWorkers = realm.workers;
      {
        using job = r.job("slow");
        ctx = job;
        await job.started;
      }
      seen.ctxReason = await ctx.then(() => "completed", (e) => e.reason);
      seen.handlerAborted = handlerSignal.aborted;
    }
    seen.runnerFinished = await Promise.race([runner.finished.then(() => true), new Promise((r) => setTimeout(() => r(false), 2000))]);
    seen.remoteAfter = runner.registry.remoteWorkers;
    const bus = new LocalBus();
    const { port1 } = new MessageChannel();
    {
      using b = bus;
      b.connect(port1);
      seen.linksBefore = b._links.size;
    }
    seen.linksAfter = bus._links.size;
    return seen;
  })()`);
  assert.deepEqual(result, {
    realmWorkers: ["answers", "sends", "crashes"],
    ctxReason: "cancelled",
    handlerAborted: true,
    runnerFinished: true,
    remoteAfter: [],
    linksBefore: 1,
    linksAfter: 0,
  });
  assertNoErrors(opened);
});
