// Workers in other realms: Node worker_threads linked to the main thread's runner.
// The threads run realm.worker.mjs (serveWorkers over parentPort) or realm-bc.worker.mjs (a
// runner on a BroadcastChannelBus); the main thread uses spawnWorker().
//
// Assumptions (readings of the contract where it is not explicit):
// - spawnWorker(runner, script) accepts a URL, a path string, or a worker_threads.Worker made by
//   the caller (used here to pass workerData: the worker numbers and the liveness options).
// - RemoteRealm.workers lists the realm's workers in the order serveWorkers() was given them.
// - A thread that goes silent (its event loop blocked) is detected by the missing heartbeats: its
//   jobs fail after heartbeatInterval * heartbeatMisses ms (150 ms here), not before 100 ms. A
//   terminated thread may be detected sooner (Node reports the thread's exit).
// - A malformed message on a link is reported once on the receiving bus's "error" event, as an
//   Error.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Worker as NodeWorker, MessageChannel } from "node:worker_threads";
import {
  BroadcastChannelBus,
  JobError,
  JobGroupError,
  LocalBus,
  MessagePortBus,
  Worker,
  WorkerRunner,
  spawnWorker,
  transfer,
} from "workbus";
import { catchError, catchSync, drain, linkedEchoPair, quietFor, startRunner, waitFor, within } from "./helpers.mjs";

const T = { timeout: 15_000 };
const REALM = new URL("./realm.worker.mjs", import.meta.url);
const REALM_BC = new URL("./realm-bc.worker.mjs", import.meta.url);
/** Liveness used on both sides unless a test says otherwise: gone after 150 ms of silence. */
const FAST = { heartbeatInterval: 50, heartbeatMisses: 3 };
const REALM_WORKERS = (n) => [`ocr-${n}`, `who-${n}`, `slow-${n}`, `ask-${n}`, `bytes-${n}`, `raw-${n}`, `freeze-${n}`];

// A leaked thread, port or channel would keep this file's process alive after its last test:
// report what is still open and fail, rather than hang the suite.
after(() => {
  setTimeout(() => {
    console.error("realms.test.mjs: still alive 5 s after the last test:", process.getActiveResourcesInfo());
    process.exit(1);
  }, 5000).unref();
});

/** The main thread's workers: "main-echo" (answers with the source and payload) and "who-main". */
function mainWorkers() {
  const echo = new Worker("main-echo").onJob((job) => ({ from: "main-echo", source: job.source, payload: job.payload }));
  const who = new Worker("who-main").onJob((job) => ({
    worker: "who-main",
    threadId: 0,
    source: job.source,
    date: job.payload?.when instanceof Date ? job.payload.when.toISOString() : null,
    map: job.payload?.map instanceof Map ? [...job.payload.map] : null,
  }));
  return [echo, who];
}

/** A thread running `script` with `workerData`, terminated when the test ends. */
function thread(t, script, workerData) {
  const th = new NodeWorker(script, { workerData });
  const errors = [];
  th.on("error", (error) => errors.push(error));
  t.after(async () => {
    await th.terminate();
    assert.deepEqual(errors, [], `uncaught errors in the thread ${script}`);
  });
  return th;
}

/** Spawns realm.worker.mjs number `n` with `liveness` on the thread's side. */
async function spawnRealm(t, runner, n, liveness = FAST) {
  const th = thread(t, REALM, { n, ...liveness });
  const realm = await spawnWorker(runner, th, { name: `realm-${n}`, timeout: 5000 });
  assert.equal(realm.worker, th, "realm.worker is the worker_threads.Worker passed in");
  return realm;
}

/** Resolves with the first event of a job (without consuming the rest). */
async function firstEvent(ctx) {
  const { value, done } = await within(ctx[Symbol.asyncIterator]().next(), 3000, "the job's first event");
  assert.equal(done, false, "the job sent an event");
  return value;
}

test("a job to a worker in a worker thread: updates and a stream through for await", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  const realm = await spawnWorker(runner, REALM, { name: "realm-1", timeout: 5000 });
  t.after(() => realm.terminate());

  assert.ok(realm.worker instanceof NodeWorker, "realm.worker is a worker_threads.Worker");
  assert.equal(typeof realm.runner, "string");
  assert.notEqual(realm.runner, runner.name);
  assert.deepEqual(realm.workers, REALM_WORKERS(1));
  assert.deepEqual(runner.registry.remoteWorkers, REALM_WORKERS(1));
  assert.deepEqual(runner.registry.get("ocr-1"), { workerName: "ocr-1", runner: realm.runner });
  assert.deepEqual(runner.registry.localWorkers, ["main-echo", "who-main"]);

  const reading = runner.job("ocr-1", { name: "read", payload: { page: 3 } });
  const events = [];
  for await (const event of reading) events.push(event);
  assert.deepEqual(events, [
    { type: "update", data: { percent: 50 } },
    { type: "update", data: { percent: 100 } },
    { type: "stream_start", data: { lines: 2 } },
    { type: "stream_data", data: "page 3, line 1" },
    { type: "stream_data", data: "page 3, line 2" },
    { type: "stream_end", data: { text: "page 3: 2 lines", threadId: realm.worker.threadId } },
  ]);
  assert.deepEqual(await reading, { text: "page 3: 2 lines", threadId: realm.worker.threadId });
  assert.equal(reading.status, "completed");
  assert.notEqual(realm.worker.threadId, 0, "answered from another thread");
});

test("a job group spanning the main thread and two worker threads", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  // One realm from a path string (it serves the workers numbered 1), one from a Worker.
  const [r1, r2] = await Promise.all([
    spawnWorker(runner, fileURLToPath(REALM), { name: "realm-1", timeout: 5000 }),
    spawnRealm(t, runner, 2),
  ]);
  t.after(() => r1.terminate());
  assert.notEqual(r1.runner, r2.runner);
  assert.deepEqual(new Set(runner.registry.remoteWorkers), new Set([...REALM_WORKERS(1), ...REALM_WORKERS(2)]));

  // Structured clones, not JSON: a Date and a Map arrive as such in the threads.
  const payload = { when: new Date(0), map: new Map([["a", 1]]) };
  const group = runner.jobGroup(["who-main", "who-1", "who-2"], { payload, timeout: 5000 });
  const responses = await group;
  const expect = (worker, threadId) => ({ worker, threadId, source: runner.name, date: "1970-01-01T00:00:00.000Z", map: [["a", 1]] });
  assert.deepEqual(responses, {
    "who-main": expect("who-main", 0),
    "who-1": expect("who-1", r1.worker.threadId),
    "who-2": expect("who-2", r2.worker.threadId),
  });
  assert.notEqual(r1.worker.threadId, r2.worker.threadId);
  assert.deepEqual(await drain(group), []);

  // A group whose members stream, across both threads.
  const reading = runner.jobGroup(["ocr-1", "ocr-2"], { name: "read", payload: { page: 1 } });
  const byWorker = {};
  for await (const event of reading) (byWorker[event.workerName] ??= []).push(event.type);
  const types = ["update", "update", "stream_start", "stream_data", "stream_data", "stream_end"];
  assert.deepEqual(byWorker, { "ocr-1": types, "ocr-2": types });
  assert.deepEqual(await reading, {
    "ocr-1": { text: "page 1: 2 lines", threadId: r1.worker.threadId },
    "ocr-2": { text: "page 1: 2 lines", threadId: r2.worker.threadId },
  });
});

test("a cancel in the main thread aborts the handler's signal in the worker thread", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  await spawnRealm(t, runner, 1);
  const aborted = async (jobId) => (await runner.job("slow-1", { name: "aborts", timeout: 2000 })).find((a) => a.jobId === jobId);

  // The context's cancel(reason).
  const job = runner.job("slow-1", { payload: { tag: "cancel()" } });
  assert.deepEqual(await firstEvent(job), { type: "update", data: "started" });
  await job.cancel("user gave up");
  const err = await catchError(job);
  assert.ok(err instanceof JobError, `a JobError, got ${err}`);
  assert.equal(err.reason, "user gave up");
  assert.equal(err.message, "user gave up");
  assert.deepEqual(await waitFor(() => aborted(job.jobId), { timeout: 2000, what: "the thread's abort record" }), {
    jobId: job.jobId,
    payload: { tag: "cancel()" },
    aborted: true,
  });

  // An AbortSignal in the params.
  const controller = new AbortController();
  const watched = runner.job("slow-1", { payload: { tag: "signal" }, signal: controller.signal });
  await firstEvent(watched);
  controller.abort("stop");
  assert.equal((await catchError(watched)).reason, "stop");
  assert.deepEqual(await waitFor(() => aborted(watched.jobId), { timeout: 2000, what: "the thread's abort record" }), {
    jobId: watched.jobId,
    payload: { tag: "signal" },
    aborted: true,
  });
});

test("a timeout crosses realms: the job fails with 'timeout' and the thread's handler aborts", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  await spawnRealm(t, runner, 1);
  const t0 = performance.now();
  const job = runner.job("slow-1", { payload: { tag: "deadline" }, timeout: 200 });
  const err = await catchError(job);
  const elapsed = performance.now() - t0;
  assert.ok(err instanceof JobError, `a JobError, got ${err}`);
  assert.equal(err.reason, "timeout");
  assert.ok(elapsed >= 190 && elapsed < 1000, `failed after ${elapsed.toFixed(0)} ms (timeout 200 ms)`);
  const record = await waitFor(
    async () => (await runner.job("slow-1", { name: "aborts", timeout: 2000 })).find((a) => a.jobId === job.jobId),
    { timeout: 2000, what: "the thread's abort record" },
  );
  assert.deepEqual(record, { jobId: job.jobId, payload: { tag: "deadline" }, aborted: true });
});

test("a thread that goes silent mid-job: its jobs fail within the heartbeat bound", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main", ...FAST });
  const [r1, r2] = await Promise.all([spawnRealm(t, runner, 1), spawnRealm(t, runner, 2)]);
  const job = runner.job("slow-2", { payload: { tag: "doomed" } });
  await firstEvent(job);
  const freezing = runner.job("freeze-2");
  assert.deepEqual(await firstEvent(freezing), { type: "update", data: "started" });
  const t0 = performance.now();
  const err = await catchError(job, 3000);
  const elapsed = performance.now() - t0;
  assert.ok(err instanceof JobError, `a JobError, got ${err}`);
  assert.equal(err.reason, "worker 'slow-2' stopped");
  assert.ok(elapsed >= 100, `failed after ${elapsed.toFixed(0)} ms: before the heartbeat bound (150 ms)`);
  assert.ok(elapsed < 1000, `failed after ${elapsed.toFixed(0)} ms: well past the heartbeat bound (150 ms)`);
  assert.equal((await catchError(freezing, 1000)).reason, "worker 'freeze-2' stopped");
  for (const name of REALM_WORKERS(2)) assert.equal(runner.registry.has(name), false, `${name} left the registry`);
  assert.deepEqual(runner.registry.remoteWorkers, REALM_WORKERS(1));
  assert.equal((await within(runner.job("who-1"), 2000, "a job to realm 1")).worker, "who-1");
  assert.ok(r1 && r2);
});

test("a thread terminated mid-job (worker.terminate()): its jobs fail with 'worker stopped'", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main", ...FAST });
  const [r1, r2] = await Promise.all([spawnRealm(t, runner, 1), spawnRealm(t, runner, 2)]);
  const ready = [];
  runner.registry.watch("slow-2", (d) => ready.push(d.workerName));

  const job = runner.job("slow-2", { payload: { tag: "doomed" } });
  const group = runner.jobGroup(["who-main", "slow-2"]);
  await firstEvent(job);
  await firstEvent(group);
  const t0 = performance.now();
  r2.worker.terminate(); // the platform's terminate: no goodbye, just silence
  const err = await catchError(job, 3000);
  const elapsed = performance.now() - t0;
  assert.ok(err instanceof JobError, `a JobError, got ${err}`);
  assert.equal(err.reason, "worker 'slow-2' stopped");
  assert.ok(elapsed < 1000, `failed after ${elapsed.toFixed(0)} ms: well past the heartbeat bound (150 ms)`);
  const groupErr = await catchError(group, 1000);
  assert.ok(groupErr instanceof JobGroupError, `a JobGroupError, got ${groupErr}`);
  assert.equal(groupErr.reason, "worker 'slow-2' stopped");

  // Realm 2's workers left the registry; realm 1's did not, and still answer.
  for (const name of REALM_WORKERS(2)) assert.equal(runner.registry.has(name), false, `${name} left the registry`);
  assert.deepEqual(runner.registry.remoteWorkers, REALM_WORKERS(1));
  assert.equal((await within(runner.job("who-1"), 2000, "a job to realm 1")).worker, "who-1");
  // A new job to a worker that is gone fails at once, as for a local worker that stopped; it
  // does not go to a dead thread.
  assert.equal((await catchError(runner.job("who-2", { timeout: 200 }))).reason, "worker 'who-2' stopped");

  // The watcher fires again when a worker of that name comes back.
  assert.deepEqual(ready, ["slow-2"]);
  await spawnRealm(t, runner, 2);
  await waitFor(() => ready.length === 2, { timeout: 2000, what: "the watcher to fire again" });
  assert.deepEqual(ready, ["slow-2", "slow-2"]);
  assert.equal((await within(runner.job("who-2"), 2000, "a job to the new realm 2")).worker, "who-2");
  assert.ok(r1);
});

test("realm.terminate() fails pending jobs at once", T, async (t) => {
  // Default liveness (1 s x 3): the failure must not wait for the heartbeats.
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  const realm = await spawnRealm(t, runner, 1, {});
  const job = runner.job("slow-1");
  const group = runner.jobGroup(["who-main", "slow-1"]);
  await firstEvent(job);
  await firstEvent(group);
  const t0 = performance.now();
  const terminated = realm.terminate();
  const err = await catchError(job, 2000);
  const elapsed = performance.now() - t0;
  assert.ok(err instanceof JobError, `a JobError, got ${err}`);
  assert.equal(err.reason, "worker 'slow-1' stopped");
  assert.ok(elapsed < 500, `failed after ${elapsed.toFixed(0)} ms`);
  const groupErr = await catchError(group, 500);
  assert.ok(groupErr instanceof JobGroupError, `a JobGroupError, got ${groupErr}`);
  assert.equal(groupErr.reason, "worker 'slow-1' stopped");
  assert.equal(groupErr.responses["who-main"]?.worker, "who-main", "the main thread's answer is kept");
  await within(terminated, 2000, "realm.terminate()");
  assert.deepEqual(runner.registry.remoteWorkers, []);
  assert.deepEqual(runner.registry.localWorkers, ["main-echo", "who-main"]);
});

test("jobs both ways: a worker in a thread requests a job from a main-thread worker", T, async (t) => {
  const [echo, who] = mainWorkers();
  const runner = await startRunner(t, [echo, who], { name: "main" });
  await spawnRealm(t, runner, 1);
  assert.deepEqual(await runner.job("ask-1", { payload: { q: 1 }, timeout: 3000 }), {
    via: "ask-1",
    answer: { from: "main-echo", source: "ask-1", payload: { q: 1 } },
  });
  // And a main-thread worker requesting from the thread (the source is the worker's name).
  const answer = await who.job("who-1", { timeout: 3000 });
  assert.equal(answer.worker, "who-1");
  assert.equal(answer.source, "who-main");
});

test("BroadcastChannelBus links the main thread and two worker threads", T, async (t) => {
  const channel = `workbus-test-${process.pid}-${Date.now()}`;
  const bus = new BroadcastChannelBus(channel);
  t.after(() => bus.close());
  assert.ok(bus instanceof LocalBus);
  const main = new Worker("bc-main").onJob((job) => ({ worker: "bc-main", threadId: 0, source: job.source, payload: job.payload }));
  const runner = await startRunner(t, [main], { name: "main", bus });
  assert.equal(runner.bus, bus);
  const [t1, t2] = [thread(t, REALM_BC, { channel, n: 1 }), thread(t, REALM_BC, { channel, n: 2 })];
  const names = ["bc-1", "relay-1", "bc-2", "relay-2"];
  await waitFor(() => names.every((name) => runner.registry.has(name)), { timeout: 5000, what: "the threads' workers" });
  assert.equal(runner.registry.get("bc-1").runner, "bc-runner-1");
  assert.equal(runner.registry.get("bc-2").runner, "bc-runner-2");

  assert.deepEqual(await runner.jobGroup(["bc-main", "bc-1", "bc-2"], { payload: "hi", timeout: 3000 }), {
    "bc-main": { worker: "bc-main", threadId: 0, source: "main", payload: "hi" },
    "bc-1": { worker: "bc-1", threadId: t1.threadId, source: "main", payload: "hi" },
    "bc-2": { worker: "bc-2", threadId: t2.threadId, source: "main", payload: "hi" },
  });
  // Thread to thread, and thread to main, over the channel alone.
  assert.deepEqual(await runner.job("relay-1", { payload: { to: "bc-2", payload: 12 }, timeout: 3000 }), {
    via: "relay-1",
    answer: { worker: "bc-2", threadId: t2.threadId, source: "relay-1", payload: 12 },
  });
  assert.deepEqual(await runner.job("relay-2", { payload: { to: "bc-main", payload: 21 }, timeout: 3000 }), {
    via: "relay-2",
    answer: { worker: "bc-main", threadId: 0, source: "relay-2", payload: 21 },
  });
});

test("a runner with no workers joining a BroadcastChannelBus sees the others' workers", T, async (t) => {
  const channel = `workbus-test-${process.pid}-${Date.now()}`;
  const bus = new BroadcastChannelBus(channel);
  t.after(() => bus.close());
  const main = new Worker("bc-main").onJob((job) => ({ worker: "bc-main", source: job.source }));
  const runner = await startRunner(t, [main], { name: "main", bus });
  thread(t, REALM_BC, { channel, n: 1 });
  await waitFor(() => runner.registry.has("bc-1"), { timeout: 5000, what: "the thread's workers" });

  // Joins late, hosting nothing: it still learns every worker on the channel.
  const joinerBus = new BroadcastChannelBus(channel);
  t.after(() => joinerBus.close());
  const joiner = await startRunner(t, [], { name: "joiner", bus: joinerBus });
  const wanted = ["bc-main", "bc-1", "relay-1"];
  await waitFor(() => wanted.every((name) => joiner.registry.has(name)), { timeout: 2000, what: "the joiner to learn every worker" });
  assert.deepEqual(new Set(joiner.registry.remoteWorkers), new Set(wanted), "the joiner's registry");
  const responses = await joiner.jobGroup(["bc-main", "bc-1"], { payload: 1, timeout: 3000 });
  assert.deepEqual(responses["bc-main"], { worker: "bc-main", source: "joiner" });
  assert.equal(responses["bc-1"].worker, "bc-1");
  assert.equal(responses["bc-1"].source, "joiner");
});

test("transfer() moves ArrayBuffers across the link instead of copying them", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  await spawnRealm(t, runner, 1);

  // Main → thread: the sender's buffer is detached.
  const buf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
  const result = await runner.job("bytes-1", { name: "sum", payload: transfer({ buf }, [buf]), timeout: 3000 });
  assert.deepEqual(result, { isArrayBuffer: true, byteLength: 8, sum: 36 });
  assert.equal(buf.byteLength, 0, "the sender's ArrayBuffer is detached");

  // Without transfer(): a copy, the sender keeps its bytes.
  const kept = new Uint8Array([1, 2, 3]).buffer;
  assert.deepEqual(await runner.job("bytes-1", { name: "sum", payload: { buf: kept }, timeout: 3000 }), {
    isArrayBuffer: true,
    byteLength: 3,
    sum: 6,
  });
  assert.equal(kept.byteLength, 3, "copied, not moved");

  // Thread → main: an update carrying a transferred buffer; the thread's copy is detached.
  const made = runner.job("bytes-1", { name: "make", timeout: 3000 });
  const events = await drain(made);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "update");
  assert.ok(events[0].data.buf instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(events[0].data.buf)], [1, 2, 3, 4]);
  assert.deepEqual(await made, { detached: true });
});

test("bad endpoints: MessagePortBus and connect() throw TypeError", T, () => {
  for (const bad of [{}, 42, null, "port", { postMessage: 1 }]) {
    const err = catchSync(() => new MessagePortBus(bad));
    assert.ok(err instanceof TypeError, `new MessagePortBus(${JSON.stringify(bad)}): TypeError, got ${err}`);
    const bus = new LocalBus();
    const err2 = catchSync(() => bus.connect(bad));
    assert.ok(err2 instanceof TypeError, `bus.connect(${JSON.stringify(bad)}): TypeError, got ${err2}`);
    bus.close();
  }
  assert.ok(catchSync(() => new BroadcastChannelBus(42)) instanceof TypeError, "new BroadcastChannelBus(42)");
  assert.ok(catchSync(() => new LocalBus().connectChannel({})) instanceof TypeError, "connectChannel({})");
});

test("a malformed message on a port is dropped and reported on the bus; jobs go on", T, async (t) => {
  const { A, B, port2, errors } = await linkedEchoPair(t);
  assert.ok(B);

  port2.postMessage("garbage");
  port2.postMessage({ type: "BusJobRequestMessage" });
  await waitFor(() => errors.length >= 2, { timeout: 2000, what: "two bus errors" });
  await quietFor(50); // and no third
  assert.equal(errors.length, 2, `errors: ${errors.map(String)}`);
  for (const error of errors) assert.ok(error instanceof Error, `an Error, got ${error}`);
  assert.deepEqual(await within(A.job("echo", { payload: 1 }), 2000, "a job after the malformed messages"), { echoed: 1 });
});

test("a malformed message from a worker thread is dropped and reported; jobs go on", T, async (t) => {
  const runner = await startRunner(t, mainWorkers(), { name: "main" });
  const errors = [];
  runner.bus.on("error", (error) => errors.push(error));
  await spawnRealm(t, runner, 1);
  assert.deepEqual(await runner.job("raw-1", { timeout: 3000 }), { posted: 2 });
  await waitFor(() => errors.length >= 2, { timeout: 2000, what: "two bus errors" });
  await quietFor(50); // and no third
  assert.equal(errors.length, 2, `errors: ${errors.map(String)}`);
  for (const error of errors) assert.ok(error instanceof Error, `an Error, got ${error}`);
  assert.equal((await within(runner.job("who-1"), 2000, "a job after the malformed messages")).worker, "who-1");
});
