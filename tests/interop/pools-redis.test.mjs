// Pools over Redis between workbus runners: two RedisBus runners host "cpu", a third requests.
// A job, and a group member, to the pooled name runs on exactly one of them; a job whose host
// goes silent runs again on the other with `retries`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { JobError, Worker } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, startJsSession, waitUntil, within } from "./helpers.mjs";

let redis;
const sessions = [];
const runs = [];

/**
 * A runner named `name` on Redis hosting "cpu" (answers which runner ran it) and "refuse"
 * (throws); both record each run before answering.
 */
async function cpuHost(name) {
  const record = (job) => runs.push({ runner: name, jobId: job.id, attempt: job.attempt });
  const cpu = new Worker("cpu").onJob((job) => {
    record(job);
    return { runner: name, n: job.payload?.n };
  });
  const refuse = new Worker("refuse").onJob((job) => {
    record(job);
    throw new Error(`refused on ${name}`);
  });
  const session = await startJsSession(redis.url, { name, workers: [cpu, refuse] });
  sessions.push(session);
  return session;
}

let requester;

before(async () => {
  redis = await startRedis();
  await cpuHost("redis-host-1");
  await cpuHost("redis-host-2");
  const session = await startJsSession(redis.url, { name: "redis-requester" });
  sessions.push(session);
  requester = session.runner;
  await waitUntil(() => ["cpu", "refuse"].every((w) => requester.registry.instances(w).length === 2), 15_000, "both hosts");
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await redis?.stop();
});

/** How many entries of `list` each runner has. */
function countBy(list) {
  const counts = {};
  for (const x of list) counts[x.runner] = (counts[x.runner] ?? 0) + 1;
  return counts;
}

test("Redis between workbus runners: 20 jobs and a group member to a pooled name each run once", T, async () => {
  runs.length = 0;
  const contexts = Array.from({ length: 20 }, (_, n) => requester.job("cpu", { payload: { n }, timeout: 10_000 }));
  const answers = await Promise.all(contexts);
  assert.deepEqual(answers.map((a) => a.n), Array.from({ length: 20 }, (_, n) => n));
  const group = requester.jobGroup(["cpu"], { payload: { n: 20 }, timeout: 10_000 });
  const responses = await group;
  assert.equal(responses.cpu.n, 20);
  // Each host records a run before answering it, so every run of an answered job is in `runs`;
  // a second run of a job would be a second entry.
  assert.equal(runs.length, 21, `runs per host: ${JSON.stringify(countBy(runs))}`);
  assert.deepEqual(new Set(runs.map((r) => r.jobId)), new Set([...contexts.map((c) => c.jobId), group.jobId]));
  assert.deepEqual(Object.keys(countBy(runs)).sort(), ["redis-host-1", "redis-host-2"], "both hosts ran jobs");
  assert.deepEqual(
    requester.registry.instances("cpu").map((i) => i.pending),
    [0, 0],
    "nothing pending once answered",
  );
});

test("Redis: an error answer from a pooled name is not retried", T, async () => {
  runs.length = 0;
  const ctx = requester.job("refuse", { retries: 2, timeout: 10_000 });
  const err = await within(
    ctx.then(
      () => undefined,
      (e) => e,
    ),
    10_000,
    "the refused job",
  );
  assert.ok(err instanceof JobError, `expected a JobError, got ${err}`);
  assert.equal(err.status, "error");
  assert.equal(runs.length, 1, `runs: ${JSON.stringify(runs)}`);
  assert.deepEqual(runs, [{ runner: runs[0].runner, jobId: ctx.jobId, attempt: 1 }]);
  assert.equal(err.response.error, `refused on ${runs[0].runner}`);
});
