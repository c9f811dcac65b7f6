// A page and two module Web Workers in headless Chromium (pages/realms.js, served as
// realms.html, and pages/realm.worker.js): the page spawns the workers with spawnWorker(), each
// worker serves its workers with serveWorkers(). Liveness on both sides: heartbeat every 50 ms,
// gone after 3 misses (150 ms). Every test opens a fresh page and checks that it logged no
// console error.
//
// Assumptions (readings of the contract where it is not explicit):
// - RemoteRealm.workers lists the realm's workers in the order serveWorkers() was given them.
// - A Web Worker terminated by the page (no goodbye) is detected by the missing heartbeats
//   only: its jobs fail after about 150 ms, not before 100 ms.
// - The page's LocalBus, linked both to the Web Workers (ports) and to a BroadcastChannel,
//   relays between its links, so a second page on the channel sees the Web Workers' workers
//   and can run jobs on them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const REALM_WORKERS = (n) => [`ocr-${n}`, `who-${n}`, `slow-${n}`, `ask-${n}`];

const env = useServerAndBrowser();

/** Opens realms.html (+ query); closes the page when the test ends, after checking its console. */
async function realmsPage(t, query = "") {
  const opened = await openPage(env.browser.context, `${env.server.origin}/realms.html${query}`);
  t.after(() => opened.page.close());
  return opened;
}

test("a job from the page to a Web Worker: updates and a stream through for await", T, async (t) => {
  const opened = await realmsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, realms } = window;
    const reading = runner.job("ocr-1", { name: "read", payload: { page: 3 } });
    const events = [];
    for await (const event of reading) events.push(event);
    return {
      realms: realms.map((r) => ({ runner: r.runner, workers: r.workers, isWorker: r.worker instanceof Worker })),
      pageRunner: runner.name,
      remoteWorkers: runner.registry.remoteWorkers,
      localWorkers: runner.registry.localWorkers,
      events,
      response: await reading,
      status: reading.status,
    };
  });
  assert.deepEqual(
    result.realms.map((r) => [r.workers, r.isWorker, typeof r.runner]),
    [
      [REALM_WORKERS(1), true, "string"],
      [REALM_WORKERS(2), true, "string"],
    ],
  );
  assert.notEqual(result.realms[0].runner, result.realms[1].runner);
  assert.ok(!result.realms.some((r) => r.runner === result.pageRunner));
  assert.deepEqual(new Set(result.remoteWorkers), new Set([...REALM_WORKERS(1), ...REALM_WORKERS(2)]));
  assert.deepEqual(result.localWorkers, ["page-echo", "who-page"]);
  const end = { text: "page 3: 2 lines", realm: "realm-1", inWorker: true };
  assert.deepEqual(result.events, [
    { type: "update", data: { percent: 50 } },
    { type: "update", data: { percent: 100 } },
    { type: "stream_start", data: { lines: 2 } },
    { type: "stream_data", data: "page 3, line 1" },
    { type: "stream_data", data: "page 3, line 2" },
    { type: "stream_end", data: end },
  ]);
  assert.deepEqual(result.response, end);
  assert.equal(result.status, "completed");
  assertNoErrors(opened);
});

test("a job group spanning the page and both Web Workers", T, async (t) => {
  const opened = await realmsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner } = window;
    // Structured clones, not JSON: a Date and a Map arrive as such in the workers.
    const payload = { when: new Date(0), map: new Map([["a", 1]]) };
    const group = runner.jobGroup(["who-page", "who-1", "who-2"], { payload, timeout: 5000 });
    const responses = await group;
    const reading = runner.jobGroup(["ocr-1", "ocr-2"], { name: "read", payload: { page: 1 } });
    const byWorker = {};
    for await (const event of reading) (byWorker[event.workerName] ??= []).push(event.type);
    return { responses, byWorker, streamed: await reading };
  });
  const expect = (worker, realm, inWorker) => ({
    worker,
    realm,
    inWorker,
    source: "page",
    date: "1970-01-01T00:00:00.000Z",
    map: [["a", 1]],
  });
  assert.deepEqual(result.responses, {
    "who-page": expect("who-page", "page", false),
    "who-1": expect("who-1", "realm-1", true),
    "who-2": expect("who-2", "realm-2", true),
  });
  const types = ["update", "update", "stream_start", "stream_data", "stream_data", "stream_end"];
  assert.deepEqual(result.byWorker, { "ocr-1": types, "ocr-2": types });
  assert.deepEqual(result.streamed, {
    "ocr-1": { text: "page 1: 2 lines", realm: "realm-1", inWorker: true },
    "ocr-2": { text: "page 1: 2 lines", realm: "realm-2", inWorker: true },
  });
  assertNoErrors(opened);
});

test("a cancel from the page aborts the handler's signal in the Web Worker; so does a timeout", T, async (t) => {
  const opened = await realmsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, workbus } = window;
    const outcome = async (ctx) => {
      try {
        return { value: await ctx };
      } catch (error) {
        return { isJobError: error instanceof workbus.JobError, name: error.name, reason: error.reason };
      }
    };
    const abortRecord = async (jobId) => {
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        const found = (await runner.job("slow-2", { name: "aborts", timeout: 2000 })).find((a) => a.jobId === jobId);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      return null;
    };
    // cancel(reason), once the handler runs.
    const job = runner.job("slow-2", { payload: { tag: "cancel()" } });
    const first = (await job[Symbol.asyncIterator]().next()).value;
    await job.cancel("user gave up");
    const cancelled = await outcome(job);
    const cancelRecord = await abortRecord(job.jobId);
    // A deadline.
    const t0 = performance.now();
    const timed = runner.job("slow-2", { payload: { tag: "deadline" }, timeout: 200 });
    const timedOut = await outcome(timed);
    const elapsed = performance.now() - t0;
    const timeoutRecord = await abortRecord(timed.jobId);
    return { first, cancelled, cancelRecord, jobId: job.jobId, timedOut, elapsed, timeoutRecord, timedId: timed.jobId };
  });
  assert.deepEqual(result.first, { type: "update", data: "started" });
  assert.deepEqual(result.cancelled, { isJobError: true, name: "JobError", reason: "user gave up" });
  assert.deepEqual(result.cancelRecord, { jobId: result.jobId, payload: { tag: "cancel()" }, aborted: true });
  assert.deepEqual(result.timedOut, { isJobError: true, name: "JobError", reason: "timeout" });
  assert.ok(result.elapsed >= 190 && result.elapsed < 1000, `timed out after ${result.elapsed} ms (timeout 200)`);
  assert.deepEqual(result.timeoutRecord, { jobId: result.timedId, payload: { tag: "deadline" }, aborted: true });
  assertNoErrors(opened);
});

test("jobs both ways: a worker in a Web Worker requests a job from a page worker", T, async (t) => {
  const opened = await realmsPage(t);
  const answer = await opened.page.evaluate(() => window.runner.job("ask-1", { payload: { q: 1 }, timeout: 3000 }));
  assert.deepEqual(answer, { via: "ask-1", answer: { from: "page-echo", source: "ask-1", payload: { q: 1 } } });
  assertNoErrors(opened);
});

test("a Web Worker terminated mid-job: the page's job fails within the heartbeat bound", T, async (t) => {
  const opened = await realmsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, realms, workbus } = window;
    // Bounded: a job that never settles is reported as such, not as a test timeout.
    const outcome = async (ctx, ms = 3000) => {
      let timer;
      try {
        const late = new Promise((resolve) => (timer = setTimeout(() => resolve({ value: "still pending", ms }), ms)));
        return await Promise.race([Promise.resolve(ctx).then((value) => ({ value })), late]);
      } catch (error) {
        return { isJobError: error instanceof workbus.JobError, name: error.name, reason: error.reason };
      } finally {
        clearTimeout(timer);
      }
    };
    const job = runner.job("slow-1", { payload: { tag: "doomed" } });
    const group = runner.jobGroup(["who-page", "slow-1"]);
    await job[Symbol.asyncIterator]().next();
    await group[Symbol.asyncIterator]().next();
    const t0 = performance.now();
    realms[0].worker.terminate(); // the platform's terminate: no goodbye, just silence
    const failed = await outcome(job);
    const elapsed = performance.now() - t0;
    const groupFailed = await outcome(group);
    const after = await outcome(runner.job("who-2", { timeout: 2000 }));
    return { failed, elapsed, groupFailed, remoteWorkers: runner.registry.remoteWorkers, after: after.value?.worker };
  });
  assert.deepEqual(result.failed, { isJobError: true, name: "JobError", reason: "worker 'slow-1' stopped" });
  assert.ok(result.elapsed >= 100, `failed after ${result.elapsed} ms: before the heartbeat bound (150 ms)`);
  assert.ok(result.elapsed < 1000, `failed after ${result.elapsed} ms: well past the heartbeat bound (150 ms)`);
  assert.deepEqual(result.groupFailed, { isJobError: true, name: "JobGroupError", reason: "worker 'slow-1' stopped" });
  assert.deepEqual(result.remoteWorkers, REALM_WORKERS(2), "realm-1's workers left the registry");
  assert.equal(result.after, "who-2", "the other Web Worker still answers");
  assertNoErrors(opened);
});

test("a second page joins over BroadcastChannelBus and sees the same workers", T, async (t) => {
  const channel = "workbus-test";
  const first = await realmsPage(t, `?channel=${channel}`);
  const second = await openPage(env.browser.context, `${env.server.origin}/second.html?channel=${channel}`);
  t.after(() => second.page.close());
  const result = await second.page.evaluate(async () => {
    const { runner } = window;
    const wanted = ["page-echo", "who-page", "ocr-1", "who-1", "ocr-2", "who-2"];
    const deadline = Date.now() + 3000;
    while (!wanted.every((name) => runner.registry.has(name)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const remoteWorkers = runner.registry.remoteWorkers;
    if (!wanted.every((name) => runner.registry.has(name))) return { remoteWorkers };
    const reading = runner.job("ocr-2", { name: "read", payload: { page: 9 }, timeout: 3000 });
    const events = [];
    for await (const event of reading) events.push(event.type);
    return {
      remoteWorkers,
      events,
      response: await reading,
      group: await runner.jobGroup(["who-page", "who-1"], { payload: "x", timeout: 3000 }),
    };
  });
  assert.deepEqual(
    new Set(result.remoteWorkers),
    new Set(["page-echo", "who-page", ...REALM_WORKERS(1), ...REALM_WORKERS(2)]),
    "the second page's registry lists the first page's workers and its Web Workers'",
  );
  assert.deepEqual(result.events, ["update", "update", "stream_start", "stream_data", "stream_data", "stream_end"]);
  assert.deepEqual(result.response, { text: "page 9: 2 lines", realm: "realm-2", inWorker: true });
  assert.equal(result.group["who-page"].source, "second");
  assert.equal(result.group["who-1"].realm, "realm-1");
  assert.equal(result.group["who-1"].source, "second");
  assertNoErrors(first, "first page");
  assertNoErrors(second, "second page");
});
