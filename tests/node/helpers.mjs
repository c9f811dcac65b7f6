// Shared helpers for the acceptance tests. Only `node:test`, `node:assert/strict` and the
// package itself are used.
import assert from "node:assert/strict";
import { WorkerRunner } from "workbus";

/** Options for every test: a hung promise fails the test instead of hanging the suite. */
export const T = { timeout: 5000 };

/** A version-agnostic UUID shape (36 characters with hyphens). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/**
 * Creates a runner (options: name, bus, autoEnd), adds `workers`, starts it and makes sure it is
 * cancelled when the test ends (so the process can exit).
 */
export async function startRunner(t, workers = [], options = {}) {
  const { autoEnd, ...runnerOptions } = options;
  const runner = new WorkerRunner(runnerOptions);
  if (t) cancelAfter(t, runner);
  if (workers.length > 0) await runner.addWorkers(...workers);
  await runner.start(autoEnd === undefined ? undefined : { autoEnd });
  return runner;
}

/** Cancels `runner` when the test ends (bounded, so a hung cancel fails instead of hanging). */
export function cancelAfter(t, runner) {
  t.after(() => within(runner.cancel(), 2000, `cancel() of ${runner.name} at the end of the test`));
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

/** Returns the rejection of `promise` (or of `fn()`); fails if it resolves. */
export async function catchError(promiseOrFn, ms = 3000) {
  const promise = typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`promise did not settle within ${ms} ms`)), ms);
  });
  try {
    const value = await Promise.race([promise, timeout]);
    assert.fail(`expected a rejection, got ${safeString(value)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    if (error instanceof Error && /did not settle within/.test(error.message)) throw error;
    return error;
  } finally {
    clearTimeout(timer);
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

/** Resolves with `promise`'s value, or fails the test if it has not settled within `ms`. */
export async function within(promise, ms, what = "promise") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} did not settle within ${ms} ms` })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
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

function safeString(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
