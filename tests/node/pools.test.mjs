// Pools: spawnWorker(runner, script, { instances: N }) starts N worker threads of one script
// (pool.worker.mjs), each serving "cpu". A job, and a group member, to "cpu" runs on exactly one
// instance, chosen by the requester (fewest of its jobs pending, ties in turn); with `retries`, a
// job whose instance stops before answering runs again on another one.
//
// Handler runs are counted by the instances themselves (their "stats-<thread>" worker), not
// from the answers: a job run twice still has one answer.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastChannelBus, JobError, Worker, spawnWorker } from "workbus";
import { catchError, catchSync, startRunner, waitFor, within } from "./helpers.mjs";

const T = { timeout: 20_000 };
const POOL = new URL("./pool.worker.mjs", import.meta.url);

// A leaked thread would keep this file's process alive after its last test: fail instead.
after(() => {
  setTimeout(() => {
    console.error("pools.test.mjs: still alive 5 s after the last test:", process.getActiveResourcesInfo());
    process.exit(1);
  }, 5000).unref();
});

/** A requester runner and a pool of `instances` threads serving "cpu", ended with the test. */
async function startPool(t, instances) {
  const runner = await startRunner(t, [], { name: "main" });
  const pool = await spawnWorker(runner, POOL, { instances, name: "cpu", timeout: 10_000 });
  t.after(() => pool.terminate());
  return { runner, pool };
}

/** The "stats-<thread>" worker of each instance, in the pool's order. */
const statsWorkers = (pool) => pool.instances.map((realm) => realm.workers.find((w) => w.startsWith("stats-")));

/** Every cpu run of each live instance: `{ [runnerName]: [{ jobId, attempt, n }] }`. */
async function runsByInstance(runner, pool) {
  const entries = await Promise.all(
    pool.instances.map(async (realm, i) => [realm.runner, await runner.job(statsWorkers(pool)[i], { name: "runs", timeout: 5000 })]),
  );
  return Object.fromEntries(entries);
}

/** How many answers came from each runner name. */
function countBy(answers) {
  const counts = {};
  for (const a of answers) counts[a.runner] = (counts[a.runner] ?? 0) + 1;
  return counts;
}

test("spawnWorker { instances: 4 } resolves with a pool of 4 threads serving the same workers", T, async (t) => {
  const { runner, pool } = await startPool(t, 4);
  assert.equal(pool.instances.length, 4);
  assert.deepEqual(pool.runners, pool.instances.map((realm) => realm.runner));
  assert.equal(new Set(pool.runners).size, 4, "each instance is a runner of its own");
  assert.deepEqual(pool.instances.map((realm) => realm.worker.threadId > 0), [true, true, true, true]);
  assert.ok(pool.workers.includes("cpu"));
  assert.deepEqual(statsWorkers(pool).every((w) => pool.workers.includes(w)), true);
  assert.deepEqual(runner.registry.instances("cpu").map((i) => i.runner).sort(), [...pool.runners].sort());
  assert.equal(typeof pool[Symbol.asyncDispose], "function");
});

test("40 jobs on a pool of 4: 40 handler runs in all, each job once, every instance busy", T, async (t) => {
  const { runner, pool } = await startPool(t, 4);
  const contexts = Array.from({ length: 40 }, (_, n) => runner.job("cpu", { payload: { n, busyMs: 20 }, timeout: 10_000 }));
  const answers = await Promise.all(contexts);
  assert.deepEqual(answers.map((a) => a.n), Array.from({ length: 40 }, (_, n) => n));

  const runs = await runsByInstance(runner, pool);
  const all = Object.values(runs).flat();
  assert.equal(all.length, 40, `handler runs per instance: ${JSON.stringify(Object.values(runs).map((r) => r.length))}`);
  assert.deepEqual(new Set(all.map((r) => r.jobId)), new Set(contexts.map((c) => c.jobId)), "every job ran, none twice");
  assert.deepEqual(answers.map((a) => a.attempt), Array(40).fill(1));
  // Each answer names the instance that ran it, and that instance recorded the run.
  for (const [i, answer] of answers.entries()) {
    assert.ok(runs[answer.runner].some((r) => r.jobId === contexts[i].jobId), `job ${i} answered by ${answer.runner}, which ran it`);
  }
  // Sent at once, the jobs spread over the instances (fewest pending first): every one worked.
  const perInstance = countBy(answers);
  assert.deepEqual(Object.keys(perInstance).sort(), [...pool.runners].sort(), `jobs per instance: ${JSON.stringify(perInstance)}`);
  assert.ok(Object.values(perInstance).every((c) => c >= 5 && c <= 15), `jobs per instance: ${JSON.stringify(perInstance)}`);
});

test("a group member to a pooled name runs on one instance", T, async (t) => {
  const { runner, pool } = await startPool(t, 3);
  const group = runner.jobGroup(["cpu"], { payload: { n: 7 }, timeout: 5000 });
  const responses = await group;
  assert.deepEqual(Object.keys(responses), ["cpu"]);
  assert.equal(responses.cpu.n, 7);
  assert.ok(pool.runners.includes(responses.cpu.runner));
  const runs = await runsByInstance(runner, pool);
  assert.deepEqual(
    Object.entries(runs).flatMap(([name, list]) => list.map((r) => [name, r.jobId])),
    [[responses.cpu.runner, group.jobId]],
    "one run, on the instance that answered",
  );
});

test("with { retries: 1 } a job whose instance stops runs again on another; the handler sees attempt 2", T, async (t) => {
  const { runner, pool } = await startPool(t, 2);
  const ctx = runner.job("cpu", { payload: { crash: true, n: 1 }, retries: 1, timeout: 10_000 });
  const answer = await within(ctx, 8000, "the retried job");
  assert.equal(answer.attempt, 2);
  assert.equal(answer.n, 1);
  // The first instance ended with its first attempt; the survivor ran the second.
  assert.deepEqual(runner.registry.instances("cpu").map((i) => i.runner), [answer.runner]);
  const survivor = pool.instances.find((realm) => realm.runner === answer.runner);
  const runs = await runner.job(survivor.workers.find((w) => w.startsWith("stats-")), { name: "runs", timeout: 5000 });
  assert.deepEqual(runs, [{ jobId: ctx.jobId, attempt: 2, n: 1 }]);
});

test("without retries a job whose instance stops fails with \"worker 'cpu' stopped\"", T, async (t) => {
  const { runner } = await startPool(t, 2);
  const err = await catchError(runner.job("cpu", { payload: { crash: true }, timeout: 10_000 }), 8000);
  assert.ok(err instanceof JobError, `expected a JobError, got ${err}`);
  assert.match(err.message, /worker 'cpu' stopped/);
  assert.equal(err.reason, "worker 'cpu' stopped");
  // The other instance still serves the name.
  await waitFor(() => runner.registry.instances("cpu").length === 1, { timeout: 3000, what: "the crashed instance to leave" });
  assert.equal((await runner.job("cpu", { payload: { n: 2 }, timeout: 5000 })).attempt, 1);
});

test("an error answer is not retried: the handler ran once", T, async (t) => {
  const { runner, pool } = await startPool(t, 3);
  const ctx = runner.job("cpu", { payload: { fail: true, n: 3 }, retries: 2, timeout: 5000 });
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError, `expected a JobError, got ${err}`);
  assert.equal(err.status, "error");
  assert.match(err.response.error, /^refused on cpu-thread-\d+$/);
  const runs = Object.values(await runsByInstance(runner, pool)).flat();
  assert.deepEqual(runs, [{ jobId: ctx.jobId, attempt: 1, n: 3 }]);
});

test("registry.instances(name) counts this runner's jobs pending on each instance, back to 0 when answered", T, async (t) => {
  const { runner, pool } = await startPool(t, 4);
  const pending = () => Object.fromEntries(runner.registry.instances("cpu").map((i) => [i.runner, i.pending]));
  assert.deepEqual(pending(), Object.fromEntries(pool.runners.map((r) => [r, 0])));
  const contexts = Array.from({ length: 8 }, (_, n) => runner.job("cpu", { payload: { n, hold: true }, timeout: 10_000 }));
  await Promise.all(contexts.map((c) => c.started));
  // No answer can come before the release: 8 pending, 2 on each instance (fewest pending first).
  assert.deepEqual(pending(), Object.fromEntries(pool.runners.map((r) => [r, 2])));
  const held = await Promise.all(statsWorkers(pool).map((w) => runner.job(w, { name: "release", timeout: 5000 })));
  assert.equal(held.reduce((sum, h) => sum + h.released, 0), 8, "every job was held on some instance");
  const answers = await Promise.all(contexts);
  assert.deepEqual(countBy(answers), Object.fromEntries(pool.runners.map((r) => [r, 2])));
  assert.deepEqual(pending(), Object.fromEntries(pool.runners.map((r) => [r, 0])));
});

test("disposing of a pool (await using) terminates every instance: their workers leave the registry", T, async (t) => {
  const runner = await startRunner(t, [], { name: "main" });
  const pool = await spawnWorker(runner, POOL, { instances: 2 });
  assert.equal(runner.registry.instances("cpu").length, 2);
  const exits = pool.instances.map((realm) => new Promise((resolve) => realm.worker.once("exit", resolve)));
  await pool[Symbol.asyncDispose]();
  await within(Promise.all(exits), 3000, "both threads to exit");
  assert.equal(runner.registry.instances("cpu").length, 0);
  assert.equal((await catchError(runner.job("cpu", { timeout: 200 }))).reason, "worker 'cpu' stopped");
});

test("spawnWorker: bad options.instances is a TypeError naming it; a Worker object cannot be pooled", T, async (t) => {
  const runner = await startRunner(t, [], { name: "main" });
  for (const instances of [0, 1.5, "2", -1, Number.NaN]) {
    const err = await catchError(spawnWorker(runner, POOL, { instances }));
    assert.ok(err instanceof TypeError, `instances ${String(instances)}: ${err}`);
    assert.match(err.message, /^options\.instances must be a whole number >= 1, got /);
  }
  const { Worker: NodeWorker } = await import("node:worker_threads");
  const th = new NodeWorker(POOL);
  t.after(() => th.terminate());
  const err = await catchError(spawnWorker(runner, th, { instances: 2 }));
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /options\.instances needs script to be a URL or a string/);
  assert.equal(runner.registry.instances("cpu").length, 0, "nothing was spawned");
});

test("a pool one of whose instances cannot start rejects with its error and leaves no instance", T, async (t) => {
  const runner = await startRunner(t, [], { name: "main" });
  const missing = new URL("./no-such-pool.worker.mjs", import.meta.url);
  const err = await catchError(spawnWorker(runner, missing, { instances: 3 }), 8000);
  assert.match(err.message, /^the worker script .*no-such-pool\.worker\.mjs failed to load/);
  assert.deepEqual(runner.registry.remoteWorkers, []);
});

test("a pool one of whose 3 instances throws while loading rejects with its error; the 2 others are terminated", T, async (t) => {
  const runner = await startRunner(t, [], { name: "main" });
  const failing = new URL("./pool-failing.worker.mjs", import.meta.url);
  const err = await catchError(spawnWorker(runner, failing, { instances: 3 }), 8000);
  assert.match(err.message, /^the worker script .*pool-failing\.worker\.mjs failed to load: the instance on thread \d+ refuses to start$/);
  assert.deepEqual(runner.registry.instances("cpu"), [], "no instance is left");
  assert.deepEqual(runner.registry.remoteWorkers, []);
});

test("job params: bad retries is a TypeError naming it, thrown at once", T, async (t) => {
  const runner = await startRunner(t, [], { name: "main" });
  for (const [retries, got] of [
    [-1, "the number -1"],
    [1.5, "the number 1.5"],
    ["1", 'the string "1"'],
  ]) {
    const err = catchSync(() => runner.job("cpu", { retries, timeout: 100 }));
    assert.ok(err instanceof TypeError, `retries ${String(retries)}: ${err}`);
    assert.equal(err.message, `params.retries must be a whole number >= 0, got ${got}`);
    const groupErr = catchSync(() => runner.jobGroup(["cpu"], { retries, timeout: 100 }));
    assert.ok(groupErr instanceof TypeError);
    assert.match(groupErr.message, /^params\.retries must be a whole number >= 0, got /);
  }
});

test("BroadcastChannel between runners: two runners hosting \"cpu\", one requester: each job runs once", T, async (t) => {
  const channel = `workbus-pool-${process.pid}-${Date.now()}`;
  const runs = [];
  const host = async (name) => {
    const bus = new BroadcastChannelBus(channel);
    t.after(() => bus.close());
    const cpu = new Worker("cpu").onJob((job) => {
      runs.push({ runner: name, jobId: job.id });
      return { runner: name, n: job.payload.n };
    });
    return startRunner(t, [cpu], { name, bus });
  };
  await host("bc-host-1");
  await host("bc-host-2");
  const bus = new BroadcastChannelBus(channel);
  t.after(() => bus.close());
  const requester = await startRunner(t, [], { name: "bc-requester", bus });
  await waitFor(() => requester.registry.instances("cpu").length === 2, { timeout: 3000, what: "both hosts of cpu" });

  const contexts = Array.from({ length: 20 }, (_, n) => requester.job("cpu", { payload: { n }, timeout: 5000 }));
  const answers = await Promise.all(contexts);
  assert.deepEqual(answers.map((a) => a.n), Array.from({ length: 20 }, (_, n) => n));
  const group = requester.jobGroup(["cpu"], { payload: { n: 20 }, timeout: 5000 });
  await group;
  // Every answer is in, and each host records its run before answering.
  assert.equal(runs.length, 21, `runs per host: ${JSON.stringify(countBy(runs))}`);
  assert.deepEqual(new Set(runs.map((r) => r.jobId)), new Set([...contexts.map((c) => c.jobId), group.jobId]));
  assert.deepEqual(Object.keys(countBy(runs)).sort(), ["bc-host-1", "bc-host-2"], "both hosts ran jobs");
  assert.deepEqual(requester.registry.instances("cpu").map((i) => i.pending), [0, 0]);
});
