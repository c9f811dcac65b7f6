// The requester side of jobs: JobContext and JobGroupContext (thenables and async iterators over
// a job group of the engine), the JobGroup record, and what runners and workers share to start
// jobs.

import * as core from "./core.js";
import { checkName, checkOptionalString, checkWorkerNames, jobParams, rejecting } from "./checks.js";
import { GROUP, JobEvent } from "./constants.js";
import { disposable } from "./disposable.js";
import { toError } from "./errors.js";
import { Listening } from "./listeners.js";

/**
 * A settled group, kept in JavaScript: once a context has seen its group settle it takes these
 * values and frees the wasm handle at once, rather than waiting for the garbage collector
 * (finalizers only run between tasks, and job loops can run for long on microtasks alone).
 */
class SettledGroup {
  /**
   * `values`: what `CoreGroup.snapshot` gives (or a settled group hands its listener);
   * `workerName`: the one worker of a job, whose response it holds alone (undefined: a group).
   */
  constructor([jobId, state, lastStatus, failure, responses, events], workerName) {
    this.jobId = jobId;
    this.state = state;
    this.lastStatus = lastStatus;
    this._failure = failure;
    this._responses = workerName === undefined ? responses : responses === undefined ? {} : { [workerName]: responses };
    this._events = events ?? [];
  }
  failure() {
    return this._failure;
  }
  responses() {
    return { ...this._responses };
  }
  responseOf(name) {
    return this._responses[name];
  }
  nextEvent() {
    return this._events.length > 0 ? this._events.shift() : this.state === GROUP.completed;
  }
  cancel() {}
}

const NO_NEWS = Object.freeze([]);

/** `{ [names[order[i]]]: values[i] }`, in that order. */
function byOrder(names, order, values) {
  const responses = {};
  for (let i = 0; i < order.length; i++) responses[names[order[i]]] = values[i];
  return responses;
}

/**
 * A context's group while it runs: its state and id, kept up to date by the engine's calls to
 * the context (see `startContext`), and a handle on the engine's group, made only when the
 * context asks for more (a cancel, events, a failure before it settles).
 */
class LiveGroup {
  /** `workerNames`: the group's members (a job's one worker), in order. */
  constructor(workerNames) {
    this.workerNames = workerNames;
    /** The group's key (a number) until a handle is asked for, then the handle (one field less per job). */
    this._keyOrHandle = undefined;
    this.state = GROUP.waiting;
    this._jobId = undefined;
    /** The events the engine handed over and nobody has taken yet. */
    this._events = undefined;
  }
  /** Asked of the engine once sent (most contexts never ask before they settle). */
  get jobId() {
    if (this._jobId === undefined && this.state !== GROUP.waiting) this._jobId = this._core.jobId;
    return this._jobId;
  }
  set key(key) {
    this._keyOrHandle = key;
  }
  /** Whether a wasm handle was made (and needs freeing). */
  get hasHandle() {
    return typeof this._keyOrHandle === "object";
  }
  get _core() {
    if (typeof this._keyOrHandle === "number") this._keyOrHandle = core.keyedGroup(this._keyOrHandle);
    return this._keyOrHandle;
  }
  get lastStatus() {
    return this._core.lastStatus;
  }
  failure() {
    return this._core.failure();
  }
  responses() {
    return this._core.responses();
  }
  responseOf(name) {
    return this._core.responseOf(name);
  }
  /** Keeps an event the engine handed over (it keeps none of a told group's events). */
  pushEvent(ev) {
    (this._events ??= []).push(ev);
  }
  /** Takes the events not taken yet. */
  takeEvents() {
    const events = this._events ?? [];
    this._events = undefined;
    return events;
  }
  /** The next event, or undefined: the engine hands every event over, and settling goes to the context. */
  nextEvent() {
    return this._events?.shift();
  }
  snapshot(withWorker) {
    return this._core.snapshot(withWorker);
  }
  cancel(reason, cause) {
    this._core.cancel(reason, cause);
  }
  // Its context is told of every change already.
  addOnChange() {
    return 0;
  }
  removeOnChange() {}
  free() {
    if (this.hasHandle) this._keyOrHandle.free();
  }
}

/**
 * The failure reason of a job whose abort signal fired: a string as it is, `AbortSignal.timeout`
 * "timeout", `abort()` with no reason "cancelled", any other Error its message.
 */
function abortReason(reason) {
  if (typeof reason === "string") return reason;
  if (typeof DOMException === "function" && reason instanceof DOMException) {
    if (reason.name === "TimeoutError") return "timeout";
    if (reason.name === "AbortError") return "cancelled";
  }
  if (reason instanceof Error) return reason.message;
  return "cancelled";
}

/** Shared by JobContext and JobGroupContext: a thenable and an async iterator over a group. */
class GroupContext {
  /** `owned`: this context alone holds `coreGroup`, so it may free it once settled. */
  /** `coreGroup`: a CoreGroup, or the LiveGroup of a context the engine tells (`_told`). */
  constructor(coreGroup, isGroup, signal, owned = true) {
    this._core = coreGroup;
    this._isGroup = isGroup;
    this._owned = owned;
    /** A job's one worker (a JobContext sets it); undefined for a group. */
    this._workerName = undefined;
    this._waiters = [];
    this._listening = undefined;
    this._error = undefined;
    this._promise = undefined;
    this._started = undefined;
    if (signal) this._watchSignal(signal);
  }

  _watchSignal(signal) {
    // Settled already (a worker that has stopped): nothing to cancel.
    if (this._core.state >= GROUP.completed) return;
    if (signal.aborted) {
      this._core.cancel(abortReason(signal.reason), signal.reason);
      return;
    }
    const onAbort = () => this._core.cancel(abortReason(signal.reason), signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this._whenChanged(() => {
      if (this._core.state < GROUP.completed) return true;
      signal.removeEventListener("abort", onAbort);
      return false;
    });
  }

  /** Runs `fn` on every change of the group (sent, event, settled) until it returns false. */
  _whenChanged(fn) {
    // An owned context is handed what the group has to tell when it settles (no more calls).
    if (this._listening === undefined) this._listening = this._core.addOnChange((...settled) => this._changed(settled), this._owned, this._isGroup);
    this._waiters.push(fn);
  }

  /** The engine's news of a LiveGroup: `(state)` or settled values (events come through `_toldEvent`). */
  _told(values) {
    if (values.length === 1) this._core.state = values[0];
    // A group's responses: the members' indices and values, in the order they came.
    if (values.length === 6 && values[4] === null) values[4] = byOrder(this._core.workerNames, core.takeResponseOrder(), core.takeResponseValues());
    this._changed(values.length === 6 ? values : []);
  }

  /** An event of a LiveGroup, handed over by the engine as it comes. */
  _toldEvent(kind, data, workerName) {
    this._core.pushEvent(workerName === undefined ? { type: JOB_EVENTS[kind], data } : { type: JOB_EVENTS[kind], data, workerName });
    this._changed(NO_NEWS);
  }

  _changed(settled) {
    if (settled.length > 0) this._takeSettled(settled);
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) {
      if (w() === true) this._waiters.push(w);
    }
    this._settleIfDone();
  }

  /** Stops listening once nobody waits, and frees the wasm handle once the group settled. */
  _settleIfDone() {
    if (this._waiters.length > 0) return;
    const core = this._core;
    if (this._listening !== undefined) {
      core.removeOnChange(this._listening);
      this._listening = undefined;
    }
    if (this._owned && !(core instanceof SettledGroup) && core.state >= GROUP.completed) this._takeSettled(core.snapshot(this._isGroup));
  }

  /** Keeps what the settled group had to tell, in JavaScript, and frees its wasm handle. */
  _takeSettled(values) {
    const core = this._core;
    // The events handed over before it settled come first.
    if (core instanceof LiveGroup && core._events !== undefined) values[5] = core.takeEvents().concat(values[5] ?? []);
    if (this._listening !== undefined) {
      core.removeOnChange(this._listening);
      this._listening = undefined;
    }
    this._core = new SettledGroup(values, this._isGroup ? undefined : this._workerName);
    // Not now: this may run inside a call on `core` (its cancel, its settling), which holds it.
    if (!(core instanceof LiveGroup) || core.hasHandle) queueMicrotask(() => core.free());
  }

  _failure() {
    if (this._error === undefined) this._error = toError(this._core.failure(), this._isGroup);
    return this._error;
  }

  get jobId() {
    return this._core.jobId;
  }

  /** What the context resolves with: each kind of context says. */
  _value() {
    throw new Error("a GroupContext without a value");
  }

  /** A promise that settles through `check` (which returns true to keep waiting). */
  _until(check) {
    return new Promise((resolve, reject) => {
      const run = () => check(resolve, reject);
      if (run() === true) this._whenChanged(run);
      else this._settleIfDone();
    });
  }

  get started() {
    if (!this._started) {
      this._started = this._until((resolve, reject) => {
        const id = this._core.jobId;
        if (id !== undefined) resolve(id);
        else if (this._core.state === GROUP.failed) reject(this._failure());
        else return true;
        return false;
      });
    }
    return this._started;
  }

  _result() {
    if (!this._promise) {
      this._promise = this._until((resolve, reject) => {
        const state = this._core.state;
        if (state === GROUP.completed) resolve(this._value());
        else if (state === GROUP.failed) reject(this._failure());
        else return true;
        return false;
      });
    }
    return this._promise;
  }

  then(onFulfilled, onRejected) {
    return this._result().then(onFulfilled, onRejected);
  }

  catch(onRejected) {
    return this._result().catch(onRejected);
  }

  finally(onFinally) {
    return this._result().finally(onFinally);
  }

  cancel(reason) {
    return rejecting(() => {
      this._core.cancel(checkOptionalString(reason, "reason"));
    });
  }

  [Symbol.asyncIterator]() {
    let done = false;
    const next = () => {
      if (done) return Promise.resolve({ value: undefined, done: true });
      const ev = this._core.nextEvent(this._isGroup);
      if (ev === undefined) {
        return new Promise((resolve) => {
          this._whenChanged(() => {
            resolve(next());
            return false;
          });
        });
      }
      if (typeof ev === "object") return Promise.resolve({ value: ev, done: false });
      done = true;
      this._settleIfDone();
      return ev === true ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this._failure());
    };
    return {
      next,
      // `break` ends this loop only: the job goes on, and a later loop gets the rest.
      return: (value) => {
        done = true;
        return Promise.resolve({ value, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

// Leaving a `using` scope cancels a job that has not finished (a finished one stays as it is).
disposable(GroupContext.prototype, {
  sync() {
    this._core.cancel(undefined);
  },
});

class JobContext extends GroupContext {
  constructor(coreGroup, workerName, signal) {
    super(coreGroup, false, signal);
    this._workerName = workerName;
  }
  _value() {
    return this._core.responseOf(this._workerName);
  }
  get response() {
    return this._core.state === GROUP.completed ? this._value() : undefined;
  }
  get status() {
    return this._core.lastStatus;
  }
  get [Symbol.toStringTag]() {
    return "JobContext";
  }
}

class JobGroupContext extends GroupContext {
  constructor(coreGroup, signal, owned = true) {
    super(coreGroup, true, signal, owned);
  }
  _value() {
    return this._core.responses();
  }
  get responses() {
    return this._core.responses();
  }
  get [Symbol.toStringTag]() {
    return "JobGroupContext";
  }
}

/** The JobGroup record of `createJobGroupAndRequestJob` and `worker.jobGroups`. */
export class JobGroup {
  constructor(coreGroup) {
    this._core = coreGroup;
    this.jobId = coreGroup.jobId;
    this.workerNames = Object.freeze(coreGroup.workerNames);
    this.cancelOnError = coreGroup.cancelOnError;
    this.label = coreGroup.label;
    this.cancellable = coreGroup.cancellable;
  }
  get responses() {
    return this._core.responses();
  }
  get isDone() {
    return this._core.isDone;
  }
  wait() {
    return new JobGroupContext(this._core, undefined, false).then(() => undefined);
  }
}

const JOB_EVENTS = Object.values(JobEvent);
let eventFactorySet = false;
/**
 * Has the engine build job event objects here, from the event's number, data and worker name
 * (one call instead of a property set per key). Once per realm, after the engine has loaded.
 */
function setEventFactory() {
  if (eventFactorySet) return;
  core.setEventFactory((kind, data, workerName) => (workerName === undefined ? { type: JOB_EVENTS[kind], data } : { type: JOB_EVENTS[kind], data, workerName }));
  // How the engine tells a context of its LiveGroup (see GroupContext._told).
  core.setContextHook(
    (context, ...values) => context._told(values),
    (context, kind, data, workerName) => context._toldEvent(kind, data, workerName),
  );
  eventFactorySet = true;
}

/** Starts a group through a core requester and wraps it in the right context. */
function startContext(requester, workerNames, params, group, paramsName) {
  setEventFactory();
  const p = jobParams(params, paramsName, group);
  // A copy: the caller may change its array.
  const live = new LiveGroup(group ? [...workerNames] : workerNames);
  const context = group ? new JobGroupContext(live) : new JobContext(live, workerNames[0]);
  // A job's one worker name crosses as a string.
  live.key = requester.startFor(group ? workerNames : workerNames[0], p.name, p.payload, p.timeout, p.label, p.cancellable, p.cancelOnError, p.retries, context);
  // Once the group exists (it may be cancelled at once).
  if (p.signal) context._watchSignal(p.signal);
  return context;
}

/**
 * Starts a group that no context owns (`createJobGroupAndRequestJob`): resolves with its JobGroup
 * record once every worker has the request.
 */
export async function startJobGroup(requester, workerNames, params) {
  setEventFactory();
  const p = jobParams(params, "params", true);
  const coreGroup = requester.startGroup(workerNames, p.name, p.payload, p.timeout, p.label, p.cancellable, p.cancelOnError, p.retries, false);
  await new JobGroupContext(coreGroup, p.signal, false).started;
  return new JobGroup(coreGroup);
}

/** Whether `value` is a Worker (of any subclass); not imported from worker.js, which imports this module. */
function isWorker(value) {
  return value instanceof Requesting && /** @type {any} */ (value)._core instanceof core.CoreWorker;
}

/** What runners and workers share: listeners and the requester side of jobs. */
export class Requesting extends Listening {
  /** The engine's requester of the runner or worker (each sets it). */
  _requester;

  /** `worker` is a worker name or a Worker (its typed handlers type the job; only its name is sent). */
  job(worker, params) {
    const workerName = isWorker(worker) ? worker.name : checkName(worker, "workerName");
    return startContext(this._requester, [workerName], params, false, "params");
  }

  jobGroup(workerNames, params) {
    checkWorkerNames(workerNames, "workerNames");
    return startContext(this._requester, workerNames, params, true, "params");
  }
}
