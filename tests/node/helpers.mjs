// Shared helpers for the acceptance tests. Only `node:test`, `node:assert/strict` and the
// package itself are used. The helpers that the CommonJS test needs too live in helpers.cjs.
import assert from "node:assert/strict";
import { Worker, JobError } from "workbus";
import shared from "./helpers.cjs";

export const { T, sleep, quietFor, within, cancelAfter, addedRunner, startRunner, startPair, throwingWorker, catchError } = shared;

/** A version-agnostic UUID shape (36 characters with hyphens). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lets every pending microtask and one macrotask run. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A promise with its resolve/reject functions exposed. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls `predicate` until it is truthy; fails the test after `timeout` ms. */
export async function waitFor(predicate, { timeout = 1000, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Returns the error thrown synchronously by `fn`; fails if it does not throw. */
export function catchSync(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected a synchronous throw");
}

/** True if `promise` has settled (checked after one macrotask). Never throws. */
export async function isSettled(promise) {
  let settled = false;
  Promise.resolve(promise).then(
    () => (settled = true),
    () => (settled = true),
  );
  await tick();
  return settled;
}

/** Collects every event of an async iterable into an array (throws what the iterator throws). */
export async function drain(iterable) {
  const events = [];
  for await (const ev of iterable) events.push(ev);
  return events;
}

/** Drains `iterable`; returns `{ events, error }` (error undefined when it ended normally). */
export async function drainSettled(iterable) {
  const events = [];
  try {
    for await (const ev of iterable) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

/** Records the arguments of each call of `emitter.on(event, …)`. */
export function record(emitter, event) {
  const calls = [];
  emitter.on(event, (...args) => {
    calls.push(args.length === 1 ? args[0] : args);
  });
  return calls;
}

/** A handler that resolves `started` with the job and then waits until its signal aborts. */
export function blockingHandler() {
  const started = deferred();
  const jobs = [];
  const handler = (job) => {
    jobs.push(job);
    started.resolve(job);
    return new Promise((resolve) => {
      if (job.signal.aborted) return resolve("aborted");
      job.signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
  };
  return { handler, started: started.promise, jobs };
}

/** A worker `name` whose default handler is a `blockingHandler()`: `{ worker, started, jobs }`. */
export function blockingWorker(name, options) {
  const { handler, started, jobs } = blockingHandler();
  return { worker: new Worker(name, options).onJob(handler), started, jobs };
}

/** A worker whose default handler answers `{ from: name, payload }`. */
export function echoWorker(name) {
  return new Worker(name).onJob((job) => ({ from: name, payload: job.payload }));
}

/** The listed fields of a message object (or any object). */
export const pick = (m, keys) => Object.fromEntries(keys.map((k) => [k, m[k]]));

/** Asserts that `message` has the fields of `expected` (deep-equal); it may have more. */
export function assertMessage(message, expected, label) {
  assert.deepEqual(pick(message, Object.keys(expected)), expected, label);
}

/**
 * Sends one job `jobName` per payload from `requester` to `workerName`, each once the previous
 * one has been sent (so they arrive in that order); returns the contexts.
 */
export async function requestInOrder(requester, workerName, jobName, payloads) {
  const contexts = [];
  for (const payload of payloads) {
    const ctx = requester.job(workerName, { name: jobName, payload });
    await ctx.started;
    contexts.push(ctx);
  }
  return contexts;
}

/** Collects the process's unhandled rejections until the test ends. */
export function trackUnhandledRejections(t) {
  const reasons = [];
  const onUnhandled = (reason) => reasons.push(reason);
  process.on("unhandledRejection", onUnhandled);
  t.after(() => process.off("unhandledRejection", onUnhandled));
  return reasons;
}

/** Asserts that `error` is an instance of `Class` (JobError by default) with the fields of `expected`. */
export function assertJobError(error, expected, Class = JobError) {
  assert.ok(error instanceof Class, `expected a ${Class.name}, got ${error}`);
  assertMessage(error, expected);
}

/**
 * A runner whose worker "w" blocks on the one job the runner requested from it:
 * `{ runner, worker, ctx, job }` once the handler runs.
 */
export async function startBlockedJob(t) {
  const { worker, started } = blockingWorker("w");
  const runner = await startRunner(t, [worker]);
  const ctx = runner.job("w");
  return { runner, worker, ctx, job: await started };
}

/** Two MessagePortBus instances linked by a MessageChannel, closed when the test ends. */
export async function linkedBuses(t) {
  const { MessagePortBus } = await import("workbus");
  const { port1, port2 } = new MessageChannel();
  const busA = new MessagePortBus(port1);
  const busB = new MessagePortBus(port2);
  t.after(() => {
    busA.close();
    busB.close();
    port1.close();
  });
  return { busA, busB, port1, port2 };
}

/**
 * Two runners on buses linked by a MessageChannel: "ra" (no workers) and "rb" hosting an
 * "echo" worker; resolves once ra knows echo. `errors` collects what busA reports.
 */
export async function linkedEchoPair(t) {
  const { Worker } = await import("workbus");
  const { busA, busB, port1, port2 } = await linkedBuses(t);
  const errors = [];
  busA.on("error", (error) => errors.push(error));
  const echo = new Worker("echo").onJob((job) => ({ echoed: job.payload }));
  const A = await startRunner(t, [], { name: "ra", bus: busA });
  const B = await startRunner(t, [echo], { name: "rb", bus: busB });
  await waitFor(() => A.registry.has("echo"), { timeout: 2000, what: "rb's workers in ra's registry" });
  return { A, B, busA, busB, port1, port2, errors };
}
