// Helpers shared by the CommonJS and the ESM tests (helpers.mjs re-exports them). Only
// `node:assert/strict` and the package itself are used.
"use strict";
const assert = require("node:assert/strict");
const { Worker, WorkerRunner } = require("workbus");

/** Options for every test: a hung promise fails the test instead of hanging the suite. */
const T = { timeout: 5000 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits `ms` during which something must NOT happen (a second event, a late answer, an abort
 * before its time), before the assertion that it did not. The only fixed wait before an
 * assertion: to wait for something that does happen, wait for its event (or waitFor).
 */
const quietFor = (ms) => sleep(ms);

/** Resolves with `promise`'s value, or fails the test if it has not settled within `ms`. */
async function within(promise, ms, what = "promise") {
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

/** Cancels `runner` when the test ends (bounded, so a hung cancel fails instead of hanging). */
function cancelAfter(t, runner) {
  t.after(() => within(runner.cancel(), 2000, `cancel() of ${runner.name} at the end of the test`));
}

/**
 * Creates a runner (options: name, bus), adds `workers` and makes sure it is cancelled when the
 * test ends (so the process can exit); not started.
 */
async function addedRunner(t, workers = [], options = {}) {
  const runner = new WorkerRunner(options);
  if (t) cancelAfter(t, runner);
  if (workers.length > 0) await runner.addWorkers(...workers);
  return runner;
}

/** `addedRunner` (options: name, bus, autoEnd), then starts it. */
async function startRunner(t, workers = [], options = {}) {
  const { autoEnd, ...runnerOptions } = options;
  const runner = await addedRunner(t, workers, runnerOptions);
  await runner.start(autoEnd === undefined ? undefined : { autoEnd });
  return runner;
}

/**
 * The usual cast: a requester "r" and a worker "w" (set up by `configure(w)`), on a started
 * runner (options as for `startRunner`). Returns `{ r, w, runner }`.
 */
async function startPair(t, configure = () => {}, options = {}) {
  const r = new Worker("r");
  const w = new Worker("w");
  configure(w);
  const runner = await startRunner(t, [r, w], options);
  return { r, w, runner };
}

/** A worker whose default handler throws `new Error(message)`. */
function throwingWorker(name, message) {
  return new Worker(name).onJob(() => {
    throw new Error(message);
  });
}

/** Returns the rejection of `promise` (or of `fn()`); fails if it resolves. */
async function catchError(promiseOrFn, ms = 3000) {
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

function safeString(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

module.exports = { T, sleep, quietFor, within, cancelAfter, addedRunner, startRunner, startPair, throwingWorker, catchError };
