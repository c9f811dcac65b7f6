// Scenario 4: two Node processes with workbus over Redis (no Python): this process (node-redis
// client) and node_peer.mjs (ioredis client) run jobs both ways.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { join } from "node:path";
import { JobError, Worker } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, analyzeEvents, analyzeResponse, collect, here, jsWorker, median, sleep, startJsSession, waitRegistered } from "./helpers.mjs";

let redis;
let js;
let worker;
let requester;
const peers = new Set();

/** Forks node_peer.mjs; resolves with { child, call(msg), events, waitEvent(name), kill() }. */
async function startPeer(prefix) {
  const child = fork(join(here, "node_peer.mjs"), [redis.url, prefix], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  peers.add(child);
  child.once("exit", () => peers.delete(child));
  const events = [];
  const pending = new Map();
  let nextId = 1;
  child.on("message", (m) => {
    if (m.id !== undefined && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    } else events.push(m);
  });
  const waitEvent = async (name, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!events.some((e) => e.event === name)) {
      if (Date.now() > deadline) throw new Error(`peer ${prefix}: no ${name} event within ${ms} ms`);
      await sleep(10);
    }
  };
  await waitEvent("ready");
  const call = (msg) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ ...msg, id });
    });
  return { child, call, events, waitEvent, exited: new Promise((r) => child.once("exit", r)) };
}

before(async () => {
  redis = await startRedis();
  worker = jsWorker("main-worker");
  requester = new Worker("main-requester");
  js = await startJsSession(redis.url, { name: "runner-main", workers: [worker, requester] });
});

after(async () => {
  for (const child of peers) child.kill("SIGKILL");
  await js?.close();
  await redis?.stop();
});

let peer;

test("two Node processes discover each other's workers through the registry handshake", T, async () => {
  peer = await startPeer("peer");
  await waitRegistered(js.runner.registry, ["peer-worker", "peer-requester"]);
  assert.deepEqual(js.runner.registry.get("peer-worker"), { workerName: "peer-worker", runner: "runner-peer" });
  const deadline = Date.now() + 5000;
  let state;
  do state = await peer.call({ cmd: "state" });
  while (!state.remoteWorkers.includes("main-worker") && Date.now() < deadline && (await sleep(20), true));
  assert.deepEqual(state.remoteWorkers.filter((n) => n.startsWith("main-")).sort(), ["main-requester", "main-worker"]);
});

test("this process → peer: updates, a stream and the response; each message delivered once", T, async () => {
  const { events, response, error } = await collect(requester.job("peer-worker", { name: "analyze", payload: { text: "over redis" }, timeout: 10_000 }));
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents("over redis", "peer-worker"));
  assert.deepEqual(response, analyzeResponse("over redis", "peer-worker"));
  const state = await peer.call({ cmd: "state" });
  assert.equal(state.requests.filter((r) => r.source === "main-requester").length, 1);
});

test("peer → this process: updates, a stream, the response; values with bytes and unicode", T, async () => {
  const r = await peer.call({ cmd: "job", worker: "main-worker", name: "analyze", payload: { text: "back again" }, timeout: 10_000 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.events.map((e) => e.type), ["update", "update", "stream_start", "stream_data", "stream_data", "stream_end"]);
  assert.deepEqual(r.response, { summary: "BACK AGAIN", worker: "main-worker" });
  assert.equal(worker.requests.filter((q) => q.id === r.jobId).length, 1, "the request was delivered more than once");

  const payload = { text: "ünïcode ✓ 🎉", bytes: new Uint8Array([0, 255, 7]), nested: { list: [1, null, "x"] }, none: null };
  const e = await peer.call({ cmd: "job", worker: "main-worker", name: "echo", payload, timeout: 10_000 });
  assert.deepEqual(e.response, payload);
  assert.deepEqual(await requester.job("peer-worker", { name: "echo", payload, timeout: 10_000 }), payload);
});

test("job groups spanning both processes, from either side", T, async () => {
  const local = await requester.jobGroup(["main-worker", "peer-worker"], { name: "echo", payload: { g: 1 }, timeout: 10_000 });
  assert.deepEqual(local, { "main-worker": { g: 1 }, "peer-worker": { g: 1 } });
  const remote = await peer.call({ cmd: "group", workers: ["peer-worker", "main-worker"], name: "mixed", payload: { seconds: 0 }, timeout: 10_000 });
  assert.equal(remote.ok, true, JSON.stringify(remote));
  assert.deepEqual(remote.responses, { "peer-worker": { ok: "peer-worker" }, "main-worker": { ok: "main-worker" } });
});

test("timeouts and cancellations both ways carry their reasons", T, async () => {
  const timed = requester.job("peer-worker", { name: "slow", payload: { seconds: 30 }, timeout: 300 });
  await assert.rejects(timed, (e) => e instanceof JobError && e.reason === "timeout");
  const cancelled = requester.job("peer-worker", { name: "slow", payload: { seconds: 30 }, timeout: 10_000 });
  const cancelledId = await cancelled.started;
  for (let i = 0; i < 250 && !(await peer.call({ cmd: "state" })).requests.some((r) => r.id === cancelledId); i++) await sleep(20);
  await cancelled.cancel("main stop");
  await assert.rejects(cancelled, (e) => e instanceof JobError && e.reason === "main stop");
  const deadline = Date.now() + 5000;
  let state;
  do state = await peer.call({ cmd: "state" });
  while (state.cancelled.length < 2 && Date.now() < deadline && (await sleep(20), true));
  assert.deepEqual(state.cancelled.filter((c) => [timed.jobId, cancelled.jobId].includes(c.jobId)).map((c) => [c.reason, c.source]), [
    ["timeout", "main-requester"],
    ["main stop", "main-requester"],
  ]);

  const r1 = await peer.call({ cmd: "job", worker: "main-worker", name: "slow", payload: { seconds: 30 }, timeout: 300 });
  assert.deepEqual([r1.ok, r1.error.name, r1.error.reason], [false, "JobError", "timeout"]);
  const r2 = await peer.call({ cmd: "job", worker: "main-worker", name: "slow", payload: { seconds: 30 }, timeout: 10_000, cancelAfter: 200, cancelReason: "peer stop" });
  assert.deepEqual([r2.ok, r2.error.reason], [false, "peer stop"]);
  const ours = () => worker.cancelled.filter((m) => [r1.jobId, r2.jobId].includes(m.jobId));
  for (let i = 0; i < 250 && ours().length < 2; i++) await sleep(20);
  assert.deepEqual(ours().map((m) => [m.reason, m.source]), [
    ["timeout", "peer-requester"],
    ["peer stop", "peer-requester"],
  ]);
});

test("errors both ways: \"worker '<w>' errored\" with the status and response", T, async () => {
  await assert.rejects(requester.job("peer-worker", { name: "throw", timeout: 10_000 }), (e) => {
    assert.ok(e instanceof JobError);
    assert.deepEqual([e.reason, e.status, e.workerName], ["worker 'peer-worker' errored", "error", "peer-worker"]);
    assert.deepEqual(e.response, { error: "js handler failed" });
    return true;
  });
  const r = await peer.call({ cmd: "group", workers: ["peer-worker", "main-worker"], name: "mixed", payload: { fail: ["main-worker"], seconds: 30 }, timeout: 10_000 });
  assert.deepEqual([r.ok, r.error.name, r.error.reason, r.error.status], [false, "JobGroupError", "worker 'main-worker' errored", "failed"]);
});

test("JS ↔ JS round trip over Redis: median of 50 sequential jobs", T, async (t) => {
  for (let i = 0; i < 5; i++) await requester.job("peer-worker", { name: "echo", payload: { i }, timeout: 10_000 });
  const samples = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await requester.job("peer-worker", { name: "echo", payload: { i }, timeout: 10_000 });
    samples.push(performance.now() - t0);
  }
  t.diagnostic(`JS→JS (two Node processes) job round trip over Redis: median ${median(samples).toFixed(2)} ms (n=50)`);
});

test("a peer that ends says goodbye: its workers leave this registry", T, async () => {
  await peer.call({ cmd: "end" });
  await peer.exited;
  const deadline = Date.now() + 5000;
  while (js.runner.registry.has("peer-worker") && Date.now() < deadline) await sleep(20);
  assert.equal(js.runner.registry.has("peer-worker"), false);
  assert.equal(js.runner.registry.has("peer-requester"), false);
  await assert.rejects(requester.job("peer-worker", { timeout: 300 }), (e) => e instanceof JobError);
});

test("a peer killed mid-job is noticed by heartbeats: the job fails with \"worker '<w>' stopped\"", { timeout: 30_000 }, async () => {
  const doomed = await startPeer("doomed");
  await waitRegistered(js.runner.registry, ["doomed-worker"]);
  const ctx = requester.job("doomed-worker", { name: "slow", payload: { seconds: 60 }, timeout: 20_000 });
  const doomedId = await ctx.started;
  for (let i = 0; i < 250 && !(await doomed.call({ cmd: "state" })).requests.some((r) => r.id === doomedId); i++) await sleep(20);
  const t0 = Date.now();
  doomed.child.kill("SIGKILL");
  await assert.rejects(ctx, (e) => e instanceof JobError && e.reason === "worker 'doomed-worker' stopped");
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 10_000, `noticed after ${elapsed} ms`);
  assert.equal(js.runner.registry.has("doomed-worker"), false);
});

test("cancelSession() from a peer cancels every runner on the channel", T, async () => {
  const last = await startPeer("last");
  await waitRegistered(js.runner.registry, ["last-worker"]);
  await last.call({ cmd: "cancelSession", reason: "all done" });
  await last.waitEvent("finished");
  await js.runner.finished;
});
