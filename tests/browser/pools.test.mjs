// A pool of 4 module Web Workers in headless Chromium (pages/pools.js, served as pools.html, and
// pages/pool.worker.js), started with spawnWorker(runner, script, { instances: 4 }). A job, and
// a group member, to the pooled name "cpu" runs on exactly one instance; with `retries`, a job
// whose instance closed itself (no goodbye: noticed by the missing heartbeats, 150 ms) runs
// again on another. Handler runs are counted by the instances themselves (their stats worker).
// Every test opens a fresh page and checks that it logged no console error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const env = useServerAndBrowser();

/** Opens pools.html; closes the page when the test ends. */
async function poolsPage(t) {
  const opened = await openPage(env.browser.context, `${env.server.origin}/pools.html`);
  t.after(() => opened.page.close());
  return opened;
}

test("a pool of 4 Web Workers: 40 jobs run 40 times in all, each once, spread over every instance", T, async (t) => {
  const opened = await poolsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, pool, runsByInstance } = window;
    const contexts = Array.from({ length: 40 }, (_, n) => runner.job("cpu", { payload: { n }, timeout: 10_000 }));
    const answers = await Promise.all(contexts);
    return {
      names: pool.instances.map((realm) => realm.worker instanceof Worker),
      runners: pool.runners,
      workers: pool.workers,
      jobIds: contexts.map((c) => c.jobId),
      answers,
      runs: await runsByInstance(),
    };
  });
  assert.deepEqual(result.names, [true, true, true, true]);
  assert.deepEqual(result.runners, ["runner-cpu-1", "runner-cpu-2", "runner-cpu-3", "runner-cpu-4"]);
  assert.deepEqual(result.workers, ["cpu", "stats-cpu-1", "stats-cpu-2", "stats-cpu-3", "stats-cpu-4"]);
  const all = Object.values(result.runs).flat();
  assert.equal(all.length, 40, `runs per instance: ${JSON.stringify(Object.values(result.runs).map((r) => r.length))}`);
  assert.deepEqual(new Set(all.map((r) => r.jobId)), new Set(result.jobIds), "every job ran, none twice");
  assert.deepEqual(result.answers.map((a) => a.n), Array.from({ length: 40 }, (_, n) => n));
  for (const [i, a] of result.answers.entries()) {
    assert.ok(result.runs[a.runner].some((r) => r.jobId === result.jobIds[i]), `job ${i} answered by ${a.runner}, which ran it`);
  }
  for (const runner of result.runners) assert.ok(result.runs[runner].length > 0, `${runner} ran jobs`);
  assertNoErrors(opened);
});

test("a group member to the pooled name runs on one instance", T, async (t) => {
  const opened = await poolsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, runsByInstance } = window;
    const group = runner.jobGroup(["cpu"], { payload: { n: 5 }, timeout: 5000 });
    const responses = await group;
    return { jobId: group.jobId, responses, runs: await runsByInstance() };
  });
  assert.deepEqual(Object.keys(result.responses), ["cpu"]);
  assert.deepEqual(
    Object.entries(result.runs).flatMap(([name, list]) => list.map((r) => [name, r.jobId])),
    [[result.responses.cpu.runner, result.jobId]],
  );
  assertNoErrors(opened);
});

test("an instance that closes itself mid-job: with { retries: 1 } the job runs again elsewhere (attempt 2); without, it fails with \"worker 'cpu' stopped\"", T, async (t) => {
  const opened = await poolsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, workbus } = window;
    const retried = runner.job("cpu", { payload: { crash: true, n: 1 }, retries: 1, timeout: 5000 });
    const answer = await retried;
    const failing = runner.job("cpu", { payload: { crash: true, n: 2 }, timeout: 5000 });
    const error = await failing.then(
      () => null,
      (e) => ({ isJobError: e instanceof workbus.JobError, reason: e.reason, message: e.message }),
    );
    return { answer, error, left: runner.registry.instances("cpu").map((i) => i.runner) };
  });
  assert.equal(result.answer.attempt, 2);
  assert.equal(result.answer.n, 1);
  assert.deepEqual(result.error, { isJobError: true, reason: "worker 'cpu' stopped", message: result.error.message });
  assert.match(result.error.message, /worker 'cpu' stopped/);
  assert.equal(result.left.length, 2, `two instances closed themselves: ${result.left}`);
  assert.ok(result.left.includes(result.answer.runner));
  assertNoErrors(opened);
});

test("registry.instances counts the page's jobs pending on each Web Worker, back to 0 when answered", T, async (t) => {
  const opened = await poolsPage(t);
  const result = await opened.page.evaluate(async () => {
    const { runner, pool } = window;
    const pending = () => Object.fromEntries(runner.registry.instances("cpu").map((i) => [i.runner, i.pending]));
    const before = pending();
    const contexts = Array.from({ length: 8 }, (_, n) => runner.job("cpu", { payload: { n, hold: true }, timeout: 10_000 }));
    await Promise.all(contexts.map((c) => c.started));
    const during = pending();
    const released = await Promise.all(pool.instances.map((_, i) => runner.job(`stats-cpu-${i + 1}`, { name: "release", timeout: 5000 })));
    await Promise.all(contexts);
    return { before, during, released: released.map((r) => r.released), after: pending() };
  });
  const each = (n) => Object.fromEntries([1, 2, 3, 4].map((i) => [`runner-cpu-${i}`, n]));
  assert.deepEqual(result.before, each(0));
  assert.deepEqual(result.during, each(2));
  assert.deepEqual(result.released, [2, 2, 2, 2]);
  assert.deepEqual(result.after, each(0));
  assertNoErrors(opened);
});
