// Pools with Python Pipecat on a shared Redis bus (pools of workbus runners alone:
// pools-redis.test.mjs): workbus instances of a name run only the jobs addressed to them;
// Python's requesters and instances keep Pipecat's behaviour (a request reaches every instance
// of its name), as docs/decisions.md says.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PY_WORKERS, T, jsWorker, pyRegistered, startJsSession, startPySession, waitRegistered, waitUntil } from "./helpers.mjs";
import { startRedis } from "./redis.mjs";

let redis;
let py;
const sessions = [];
// "pooled" on two workbus runners; "py-worker" on Python and on the first workbus runner.
const pooled = [jsWorker("pooled"), jsWorker("pooled")];
const jsPyWorker = jsWorker("py-worker");
let requester;

before(async () => {
  redis = await startRedis();
  py = await startPySession(redis.url, { watch: ["pooled"] });
  sessions.push(await startJsSession(redis.url, { name: "runner-js-1", workers: [pooled[0], jsPyWorker] }));
  sessions.push(await startJsSession(redis.url, { name: "runner-js-2", workers: [pooled[1]] }));
  requester = await startJsSession(redis.url, { name: "runner-js-asker" });
  sessions.push(requester);
  await pyRegistered(py, "pooled");
  await waitRegistered(requester.runner.registry, [...PY_WORKERS, "pooled"]);
  await waitUntil(() => requester.runner.registry.instances("pooled").length === 2 && requester.runner.registry.instances("py-worker").length === 2, 10_000, "both pools");
});
after(async () => {
  for (const s of sessions) await s.close();
  await py?.stop();
  await redis?.stop();
});

test("a Python requester's job to a pooled name reaches every workbus instance (Pipecat's addressing)", T, async () => {
  const r = await py.request({ cmd: "job", worker: "pooled", name: "echo", payload: { from: "python" }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.response, { from: "python" });
  await waitUntil(() => pooled.every((w) => w.requests.some((q) => q.id === r.job_id)), 5_000, "the request on both instances");
});

test("a pool with a Python instance: the workbus instance runs only the jobs addressed to it", T, async () => {
  const before = jsPyWorker.requests.length;
  const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => requester.runner.job("py-worker", { name: "echo", payload: { i }, timeout: 10_000 })));
  assert.deepEqual(answers, Array.from({ length: 4 }, (_, i) => ({ i })));
  assert.equal(jsPyWorker.requests.length - before, 2, "two of the four were addressed to the workbus instance");
});
