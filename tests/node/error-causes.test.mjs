// Failures keep their cause: what a handler threw (in-process, across a structured-clone link,
// from a Pipecat JSON peer), what an abort signal was aborted with, and what a handler throws
// after its job was answered (the worker's "error" event).
import test from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { JobError, JobGroupError, RedisBus, Worker, setLogger } from "workbus";
import { T, catchError, deferred, startPair, startRunner, waitFor, linkedBuses } from "./helpers.mjs";

class ScannerError extends Error {
  constructor(message) {
    super(message);
    this.name = "ScannerError";
  }
}

/** A worker "w" whose handler throws `error`. */
const throwing = (error) => (w) => w.onJob(() => {
  throw error;
});

/** Routes log lines to an array for the test's duration. */
function captureLogs(t) {
  const lines = [];
  setLogger((level, message) => lines.push({ level, message }));
  t.after(() => setLogger(null));
  return lines;
}

test("in-process, JobError.cause is the very value the handler threw", T, async (t) => {
  const thrown = new ScannerError("scanner jammed");
  const { r } = await startPair(t, throwing(thrown));
  const err = await catchError(r.job("w"));
  assert.ok(err instanceof JobError);
  assert.equal(err.cause, thrown);
  assert.equal(err.message, "worker 'w' errored");
  assert.equal(err.reason, "worker 'w' errored");
  assert.deepEqual(err.response, { error: "scanner jammed" });
});

test("in-process, a rejected promise and a thrown non-Error are the cause as they are", T, async (t) => {
  const reason = { code: 42 };
  const { r } = await startPair(t, (w) => w.onJob("reject", () => Promise.reject(reason)).onJob("string", () => {
    throw "plain string";
  }));
  assert.equal((await catchError(r.job("w", { name: "reject" }))).cause, reason);
  assert.equal((await catchError(r.job("w", { name: "string" }))).cause, "plain string");
});

test("a failed group's JobGroupError.cause is what the failing member threw", T, async (t) => {
  const thrown = new ScannerError("member jammed");
  const ok = new Worker("ok").onJob(() => ({ ok: true }));
  const bad = new Worker("bad").onJob(async () => {
    throw thrown;
  });
  const runner = await startRunner(t, [ok, bad]);
  const err = await catchError(runner.jobGroup(["ok", "bad"]));
  assert.ok(err instanceof JobGroupError);
  assert.equal(err.cause, thrown);
  assert.equal(err.reason, "worker 'bad' errored");
});

test("across a MessageChannel link, the cause is an Error rebuilt with the same name, message and stack", T, async (t) => {
  const { busA, busB } = await linkedBuses(t);
  const thrown = new ScannerError("jammed far away");
  const far = new Worker("far").onJob(() => {
    throw thrown;
  });
  const A = await startRunner(t, [], { name: "ra", bus: busA });
  await startRunner(t, [far], { name: "rb", bus: busB });
  await waitFor(() => A.registry.has("far"), { timeout: 2000, what: "far in ra's registry" });
  const err = await catchError(A.job("far"));
  assert.ok(err instanceof JobError);
  assert.equal(err.reason, "worker 'far' errored");
  assert.ok(err.cause instanceof Error, "the cause is an Error");
  assert.notEqual(err.cause, thrown);
  assert.equal(err.cause.name, "ScannerError");
  assert.equal(err.cause.message, "jammed far away");
  assert.equal(err.cause.stack, thrown.stack);
});

/** An in-memory stand-in for Redis pub/sub: what one client publishes, every subscriber gets. */
function fakeRedis() {
  const subscriptions = new Set();
  return () => {
    const client = {
      async publish(channel, text) {
        for (const s of subscriptions) if (s.channel === channel) queueMicrotask(() => s.listener(text));
        return 1;
      },
      async subscribe(channel, listener) {
        subscriptions.add({ client, channel, listener });
      },
      async unsubscribe() {
        for (const s of [...subscriptions]) if (s.client === client) subscriptions.delete(s);
      },
    };
    return client;
  };
}

test("from a peer over Pipecat's JSON, the cause is new Error(response.error)", T, async (t) => {
  const client = fakeRedis();
  const busA = new RedisBus({ client: client(), subscriber: client() });
  const busB = new RedisBus({ client: client(), subscriber: client() });
  await Promise.all([busA.ready, busB.ready]);
  t.after(() => Promise.all([busA.close(), busB.close()]));
  const far = new Worker("far").onJob(() => {
    throw new ScannerError("jammed over JSON");
  });
  const A = await startRunner(t, [], { name: "ra", bus: busA });
  await startRunner(t, [far], { name: "rb", bus: busB });
  await waitFor(() => A.registry.has("far"), { timeout: 2000, what: "far in ra's registry" });
  const err = await catchError(A.job("far"));
  assert.equal(err.reason, "worker 'far' errored");
  assert.deepEqual(err.response, { error: "jammed over JSON" });
  assert.ok(err.cause instanceof Error);
  assert.equal(err.cause.name, "Error");
  assert.equal(err.cause.message, "jammed over JSON");
});

/** A pair whose worker "w" waits until its job is aborted. */
const waiting = (w) => w.onJob((job) => new Promise((resolve) => job.signal.addEventListener("abort", () => resolve())));

test("abort reasons: a string, AbortSignal.timeout, abort() and an Error, each with the signal's reason as cause", T, async (t) => {
  const { r } = await startPair(t, waiting);

  const byString = new AbortController();
  const stringJob = r.job("w", { signal: byString.signal });
  await stringJob.started;
  byString.abort("user gave up");
  let err = await catchError(stringJob);
  assert.equal(err.reason, "user gave up");
  assert.equal(err.cause, "user gave up");

  const timeout = AbortSignal.timeout(30);
  err = await catchError(r.job("w", { signal: timeout }));
  assert.equal(err.reason, "timeout");
  assert.equal(err.cause, timeout.reason);
  assert.equal(err.cause.name, "TimeoutError");

  const plain = new AbortController();
  const plainJob = r.job("w", { signal: plain.signal });
  await plainJob.started;
  plain.abort();
  err = await catchError(plainJob);
  assert.equal(err.reason, "cancelled");
  assert.equal(err.cause, plain.signal.reason);
  assert.equal(err.cause.name, "AbortError");

  const byError = new AbortController();
  const reason = new Error("window closed");
  const errorJob = r.job("w", { signal: byError.signal });
  await errorJob.started;
  byError.abort(reason);
  err = await catchError(errorJob);
  assert.equal(err.reason, "window closed");
  assert.equal(err.message, "window closed");
  assert.equal(err.cause, reason);
});

test("an already aborted signal fails the job with the same reason and cause", T, async (t) => {
  const { r } = await startPair(t, waiting);
  const reason = new Error("never mind");
  const err = await catchError(r.job("w", { signal: AbortSignal.abort(reason) }));
  assert.equal(err.reason, "never mind");
  assert.equal(err.cause, reason);
});

test("a handler that rejects after respond() reports it on the worker's error event and the logger", T, async (t) => {
  const logs = captureLogs(t);
  const late = new ScannerError("after the answer");
  const { r, w } = await startPair(t, (w) => w.onJob(async (job) => {
    await job.respond({ early: true });
    throw late;
  }));
  const reported = deferred();
  w.on("error", (error) => reported.resolve(error));
  assert.deepEqual(await r.job("w"), { early: true });
  assert.equal(await reported.promise, late);
  assert.ok(
    logs.some((l) => l.level === "error" && l.message.includes("worker 'w'") && l.message.includes("after the answer")),
    `a log line names the worker and the error: ${JSON.stringify(logs)}`,
  );
});

test("a handler that throws synchronously after respond() reports it on the worker's error event", T, async (t) => {
  captureLogs(t);
  const late = new Error("sync after the answer");
  const { r, w } = await startPair(t, (w) => w.onJob((job) => {
    job.respond("done");
    throw late;
  }));
  const reported = deferred();
  w.on("error", (error) => reported.resolve(error));
  assert.equal(await r.job("w"), "done");
  assert.equal(await reported.promise, late);
});

test("a handler that rejects after streamEnd() is reported too, with no listener on the logger alone", T, async (t) => {
  const logs = captureLogs(t);
  const { r } = await startPair(t, (w) => w.onJob(async (job) => {
    await job.streamEnd({ n: 1 });
    await null;
    throw new Error("after the stream");
  }));
  assert.deepEqual(await r.job("w"), { n: 1 });
  await waitFor(() => logs.some((l) => l.level === "error" && l.message.includes("after the stream")), { what: "the log line" });
});
