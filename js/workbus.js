// The JavaScript face of workbus: argument checks, Error classes, listeners, thenables and
// async iterators around the wasm engine (`./core.js`). Every rule of the system lives in
// the engine; this file only shapes values and calls for JavaScript.

import * as core from "./core.js";
import { host } from "./host.js";
import { assertLoaded } from "./loading.js";
import { WireError, decodeWire, encodeWire, parseWire } from "./wire.js";
import { definePgmqBus } from "./pgmq-bus.js";

// ----- constants -----------------------------------------------------------------------------

export const JobStatus = Object.freeze({ COMPLETED: "completed", CANCELLED: "cancelled", FAILED: "failed", ERROR: "error" });
export const JobEvent = Object.freeze({ UPDATE: "update", STREAM_START: "stream_start", STREAM_DATA: "stream_data", STREAM_END: "stream_end" });
export const JobGroupEvent = JobEvent;

const STATUSES = new Set(Object.values(JobStatus));
const DEFAULT_GRACE_MS = 5000;
const DEFAULT_HEARTBEAT_MS = 1000;
const DEFAULT_HEARTBEAT_MISSES = 3;
const DEFAULT_SPAWN_TIMEOUT_MS = 10000;
// Bit i of a worker's event mask is WORKER_EVENTS[i] (the engine's order).
const WORKER_EVENTS = [
  "activated", "deactivated", "finished", "workerReady", "workerFailed", "jobRequest", "jobResponse",
  "jobUpdate", "jobUpdateRequested", "jobError", "jobStreamStart", "jobStreamData", "jobStreamEnd",
  "jobCancelled", "busMessage", "jobCompleted", "error",
];
const RUNNER_EVENTS = ["ready", "error"];
const REGISTRY_EVENTS = ["ready", "gone"];
// `using` / `await using` (explicit resource management), where the runtime has the symbols.
const dispose = typeof Symbol.dispose === "symbol" ? Symbol.dispose : undefined;
const asyncDispose = typeof Symbol.asyncDispose === "symbol" ? Symbol.asyncDispose : undefined;

/** Gives `target` (a prototype or an object) `[Symbol.dispose]` and `[Symbol.asyncDispose]`. */
function disposable(target, { sync, async }) {
  const define = (key, fn) => key && fn && Object.defineProperty(target, key, { value: fn, writable: true, configurable: true });
  define(dispose, sync);
  define(
    asyncDispose,
    async ??
      async function () {
        sync.call(this);
      },
  );
  return target;
}
const STREAM = { start: 0, data: 1, end: 2 };

/** Routes workbus log lines to `logger(level, message)`; `null` restores the console. */
export function setLogger(logger) {
  if (logger !== null && logger !== undefined && typeof logger !== "function") {
    throw new TypeError(`logger must be a function or null, got ${describe(logger)}`);
  }
  assertLoaded();
  core.setLogger(logger ?? undefined);
  currentLogger = logger ?? null;
}
let currentLogger = null;

/** A log line of the façade ("warn" or "error"), where the engine's own lines go. */
function log(level, message) {
  if (currentLogger) currentLogger(level, message);
  else if (level === "warn") console.warn(`[workbus] ${message}`);
  else console.error(`[workbus] ${message}`);
}

function logError(what, error) {
  log("error", `${what}: ${error instanceof Error ? error.stack || error.message : String(error)}`);
}

// ----- argument checks (TypeError naming the argument) -----------------------------------------

function describe(v) {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "number") return `the number ${v}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function checkString(value, name) {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  return value;
}

function checkName(value, name) {
  checkString(value, name);
  if (value.length === 0) throw new TypeError(`${name} must not be empty`);
  return value;
}

function checkOptionalString(value, name) {
  return value === undefined || value === null ? undefined : checkString(value, name);
}

function checkFunction(value, name) {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  return value;
}

function checkBoolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

function checkDuration(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds >= 0, got ${describe(value)}`);
  }
  return value;
}

function checkCount(value, name) {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a whole number >= 1, got ${describe(value)}`);
  return value;
}

function checkOptions(value, name) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  return value;
}

function checkSignal(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || typeof value.aborted !== "boolean" || typeof value.addEventListener !== "function") {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
  return value;
}

function checkWorkerNames(value, name) {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of worker names, got ${describe(value)}`);
  value.forEach((n, i) => checkName(n, `${name}[${i}]`));
  return value;
}

function checkWorker(value, name) {
  if (!(value instanceof Worker)) throw new TypeError(`${name} must be a Worker, got ${describe(value)}`);
  return value;
}

/** The options of `end`/`cancel`/`stop`: a reason string or `{ reason, gracePeriod }`. */
function stopOptions(options, name) {
  if (typeof options === "string") return { reason: options, gracePeriod: DEFAULT_GRACE_MS };
  const o = checkOptions(options, name);
  return {
    reason: checkOptionalString(o.reason, `${name}.reason`),
    gracePeriod: checkDuration(o.gracePeriod, `${name}.gracePeriod`) ?? DEFAULT_GRACE_MS,
  };
}

function jobParams(params, name, group) {
  const p = checkOptions(params, name);
  return {
    name: checkOptionalString(p.name, `${name}.name`),
    payload: p.payload,
    timeout: checkDuration(p.timeout, `${name}.timeout`),
    label: checkOptionalString(p.label, `${name}.label`),
    cancellable: checkBoolean(p.cancellable, `${name}.cancellable`, true),
    cancelOnError: group ? checkBoolean(p.cancelOnError, `${name}.cancelOnError`, true) : true,
    signal: checkSignal(p.signal, `${name}.signal`),
  };
}

/** Runs `fn` and turns a synchronous throw into a rejection (for async methods). */
function rejecting(fn) {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

// ----- errors ----------------------------------------------------------------------------------

export class JobError extends Error {
  constructor(reason, options = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "JobError";
    this.reason = reason;
    for (const key of ["jobId", "workerName", "status", "response"]) {
      if (options[key] !== undefined) this[key] = options[key];
    }
  }
}

export class JobGroupError extends JobError {
  constructor(reason, options = {}) {
    super(reason, options);
    this.name = "JobGroupError";
    this.responses = options.responses ?? {};
  }
}

function toError(failure, group) {
  const { reason, ...details } = failure;
  return group ? new JobGroupError(reason, details) : new JobError(reason, details);
}

// ----- listeners -------------------------------------------------------------------------------

/** on/off/once over a fixed set of event names; tells the engine which events are wanted. */
class Listeners {
  constructor(names, onMaskChange) {
    this.names = names;
    this.map = new Map();
    this.onMaskChange = onMaskChange;
  }
  add(event, listener, once) {
    if (!this.names.includes(event)) {
      throw new TypeError(`event must be one of ${this.names.join(", ")}; got ${describe(event)}`);
    }
    checkFunction(listener, "listener");
    const list = this.map.get(event) ?? [];
    list.push({ listener, once });
    this.map.set(event, list);
    this.onMaskChange(this.mask());
  }
  remove(event, listener) {
    if (!this.names.includes(event)) {
      throw new TypeError(`event must be one of ${this.names.join(", ")}; got ${describe(event)}`);
    }
    checkFunction(listener, "listener");
    this._drop(event, (l) => l.listener === listener);
  }
  /** Removes the first registration of `event` that `match` accepts. */
  _drop(event, match) {
    const list = this.map.get(event);
    if (!list) return;
    const i = list.findIndex(match);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.map.delete(event);
    this.onMaskChange(this.mask());
  }
  mask() {
    let m = 0;
    this.names.forEach((n, i) => {
      if (this.map.has(n)) m |= 1 << i;
    });
    return m;
  }
  /** Calls the listeners in order; their errors are logged and never break delivery. */
  emit(event, ...args) {
    const list = this.map.get(event);
    if (!list) return;
    for (const entry of [...list]) {
      if (entry.once) this._drop(event, (l) => l === entry);
      try {
        const result = entry.listener(...args);
        if (result && typeof result.then === "function") result.then(undefined, (e) => logError(`a "${event}" listener failed`, e));
      } catch (e) {
        logError(`a "${event}" listener failed`, e);
      }
    }
  }
}

/** `on`/`off`/`once` over `this._listeners`, returning `this`. */
class Listening {
  on(event, listener) {
    this._listeners.add(event, listener, false);
    return this;
  }
  once(event, listener) {
    this._listeners.add(event, listener, true);
    return this;
  }
  off(event, listener) {
    this._listeners.remove(event, listener);
    return this;
  }
}

// ----- job contexts ----------------------------------------------------------------------------

/**
 * A settled group, kept in JavaScript: once a context has seen its group settle it takes these
 * values and frees the wasm handle at once, rather than waiting for the garbage collector
 * (finalizers only run between tasks, and job loops can run for long on microtasks alone).
 */
class SettledGroup {
  constructor(core, withWorker) {
    [this.jobId, this.state, this.lastStatus, this._failure, this._responses, this._events] = core.snapshot(withWorker);
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
    return this._events.length > 0 ? this._events.shift() : this.state === 2;
  }
  cancel() {}
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
  constructor(coreGroup, isGroup, signal, owned = true) {
    this._core = coreGroup;
    this._isGroup = isGroup;
    this._owned = owned;
    this._waiters = [];
    this._listening = undefined;
    this._error = undefined;
    this._promise = undefined;
    this._started = undefined;
    if (signal) this._watchSignal(signal);
  }

  _watchSignal(signal) {
    if (signal.aborted) {
      this._core.cancel(abortReason(signal.reason), signal.reason);
      return;
    }
    const onAbort = () => this._core.cancel(abortReason(signal.reason), signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this._whenChanged(() => {
      if (this._core.state < 2) return true;
      signal.removeEventListener("abort", onAbort);
      return false;
    });
  }

  /** Runs `fn` on every change of the group (sent, event, settled) until it returns false. */
  _whenChanged(fn) {
    if (this._listening === undefined) this._listening = this._core.addOnChange(() => this._changed());
    this._waiters.push(fn);
  }

  _changed() {
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
    if (this._owned && !(core instanceof SettledGroup) && core.state >= 2) {
      this._core = new SettledGroup(core, this._isGroup);
      // Not now: this may run inside a call on `core` (its cancel), which holds it.
      queueMicrotask(() => core.free());
    }
  }

  _failure() {
    if (this._error === undefined) this._error = toError(this._core.failure(), this._isGroup);
    return this._error;
  }

  get jobId() {
    return this._core.jobId;
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
        else if (this._core.state === 3) reject(this._failure());
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
        if (state === 2) resolve(this._value());
        else if (state === 3) reject(this._failure());
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
    return this._core.state === 2 ? this._value() : undefined;
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
class JobGroup {
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

/** Starts a group through a core requester and wraps it in the right context. */
function startContext(requester, workerNames, params, group, paramsName) {
  const p = jobParams(params, paramsName, group);
  const coreGroup = requester.startGroup(workerNames, p.name, p.payload, p.timeout, p.label, p.cancellable, p.cancelOnError, true);
  return group ? new JobGroupContext(coreGroup, p.signal) : new JobContext(coreGroup, workerNames[0], p.signal);
}

// ----- worker side: job requests ---------------------------------------------------------------

class JobRequest {
  constructor(id, name, payload, source, coreWorker) {
    this.id = id;
    this.name = name;
    this.payload = payload;
    this.source = source;
    this._worker = coreWorker;
    this._abortReason = undefined;
    this._controller = undefined;
    this._isOver = false;
    this._endedPromise = undefined;
    this._resolveEnded = undefined;
  }
  /** Called by the engine (through the abort hook) when the job is aborted. */
  _abort(reason) {
    this._abortReason = reason;
    this._controller?.abort(reason);
    this._end();
  }
  /** Resolves once the job is over (answered or aborted), whatever its handler does. */
  _ended() {
    this._endedPromise ??= this._isOver ? Promise.resolve() : new Promise((resolve) => (this._resolveEnded = resolve));
    return this._endedPromise;
  }
  _end() {
    this._isOver = true;
    this._resolveEnded?.();
  }
  /** Aborts when the job is cancelled or the worker stops (made on first use: it is costly). */
  get signal() {
    if (!this._controller) {
      this._controller = new AbortController();
      if (this._abortReason !== undefined) this._controller.abort(this._abortReason);
    }
    return this._controller.signal;
  }
  update(data, options) {
    return rejecting(() => this._worker.sendJobUpdate(this.id, data, checkBoolean(checkOptions(options, "options").urgent, "options.urgent", false)));
  }
  streamStart(data) {
    return rejecting(() => this._worker.sendJobStream(this.id, STREAM.start, data));
  }
  streamData(data) {
    return rejecting(() => this._worker.sendJobStream(this.id, STREAM.data, data));
  }
  streamEnd(data) {
    return rejecting(() => {
      this._worker.sendJobStream(this.id, STREAM.end, data);
      this._end();
    });
  }
  respond(response, options) {
    return rejecting(() => {
      const o = checkOptions(options, "options");
      this._worker.sendJobResponse(this.id, response, checkStatus(o.status), checkBoolean(o.urgent, "options.urgent", false));
      this._end();
    });
  }
  get [Symbol.toStringTag]() {
    return "JobRequest";
  }
}

/**
 * The handler as the engine calls it: a promise it returns is raced with the end of its job,
 * so a handler that never settles does not keep the job's bookkeeping alive after the job. A
 * rejection that comes after the job ended goes to the engine, which reports it.
 */
function untilJobEnds(handler, coreWorker) {
  return (request) => {
    const result = handler(request);
    if (result === null || (typeof result !== "object" && typeof result !== "function") || typeof result.then !== "function") return result;
    return new Promise((resolve, reject) => {
      let settled = false;
      const first = (fn) => (value) => {
        if (settled) return false;
        settled = true;
        fn(value);
        return true;
      };
      const answered = first(resolve);
      const failed = first(reject);
      Promise.resolve(result).then(answered, (error) => {
        if (!failed(error)) coreWorker.reportHandlerError(request.id, error, request._abortReason !== undefined);
      });
      request._ended().then(() => answered(undefined));
    });
  };
}

function checkStatus(status) {
  if (status === undefined) return JobStatus.COMPLETED;
  if (!STATUSES.has(status)) throw new TypeError(`options.status must be one of ${[...STATUSES].join(", ")}; got ${describe(status)}`);
  return status;
}

let abortHookSet = false;
/** Once per realm, after the engine has loaded (browsers load it in `init()`, not on import). */
function setAbortHook() {
  if (!abortHookSet) core.setAbortHook((request, reason) => request._abort(reason));
  abortHookSet = true;
}

// ----- buses -----------------------------------------------------------------------------------

const transfers = new WeakMap();

/**
 * Marks `value` so that the listed ArrayBuffers (and other transferables) are moved, not
 * copied, when a message carrying it crosses a postMessage link. Returns `value`.
 */
export function transfer(value, transferables) {
  if (value === null || typeof value !== "object") throw new TypeError(`value must be an object, got ${describe(value)}`);
  if (!Array.isArray(transferables)) throw new TypeError(`transferables must be an array, got ${describe(transferables)}`);
  transfers.set(value, transferables);
  return value;
}

const VALUE_FIELDS = ["payload", "response", "update", "data", "args", "frame"];

function transfersOf(message) {
  let list;
  for (const key of VALUE_FIELDS) {
    const t = message[key] !== null && typeof message[key] === "object" ? transfers.get(message[key]) : undefined;
    if (t) list = list ? list.concat(t) : t;
  }
  return list;
}

/** A postMessage endpoint: a Worker, a MessagePort, a worker's `self`, or Node's equivalents. */
function portAdapter(endpoint, name) {
  const nodeStyle = endpoint !== null && typeof endpoint === "object" && typeof endpoint.on === "function";
  if (
    endpoint === null ||
    typeof endpoint !== "object" ||
    typeof endpoint.postMessage !== "function" ||
    (!nodeStyle && typeof endpoint.addEventListener !== "function")
  ) {
    throw new TypeError(`${name} must be a Worker, a MessagePort or a worker's global scope, got ${describe(endpoint)}`);
  }
  let onMessage;
  return {
    post: (message, list) => (list ? endpoint.postMessage(message, list) : endpoint.postMessage(message)),
    listen(deliver) {
      if (nodeStyle) {
        onMessage = deliver;
        endpoint.on("message", onMessage);
      } else {
        onMessage = (event) => deliver(event.data);
        endpoint.addEventListener("message", onMessage);
        if (typeof endpoint.start === "function") endpoint.start();
      }
    },
    close() {
      if (nodeStyle) endpoint.off("message", onMessage);
      else endpoint.removeEventListener("message", onMessage);
    },
  };
}

function channelAdapter(name) {
  if (typeof BroadcastChannel !== "function") throw new Error("BroadcastChannel is not available in this runtime");
  const channel = new BroadcastChannel(name);
  return {
    post: (message) => channel.postMessage(message),
    listen(deliver) {
      channel.onmessage = (event) => deliver(event.data);
    },
    close: () => channel.close(),
  };
}

/**
 * The in-process bus. It can also be linked to other realms (Web Workers, worker threads,
 * other pages): what a runner sends that has to leave crosses the links as structured clones,
 * and what arrives is delivered here and relayed to the other links.
 */
export class LocalBus extends Listening {
  constructor() {
    assertLoaded();
    super();
    this._core = new core.CoreBus();
    this._links = new Set();
    // Runners on this bus introduce themselves on every new link.
    this._runners = new Set();
    this._observer = undefined;
    // "message": every message routed through this bus (a log); "error": a dropped message.
    this._listeners = new Listeners(["error", "message"], (mask) => this._observe(mask & 2));
    // A value a link cannot carry (the engine fails the job, the update or the response).
    this._core.setRefusalSink((text, cause) => this._report(new Error(text, cause === undefined ? undefined : { cause })));
  }

  _observe(wanted) {
    if (wanted && this._observer === undefined) {
      this._observer = this._core.observe((message) => this._listeners.emit("message", message));
    } else if (!wanted && this._observer !== undefined) {
      this._core.unobserve(this._observer);
      this._observer = undefined;
    }
  }

  /** Links a postMessage endpoint (Worker, MessagePort, a worker's `self`, Node's ports). */
  connect(endpoint) {
    return this._link(portAdapter(endpoint, "endpoint"));
  }

  /** Links a BroadcastChannel: every same-origin page and worker on that channel. */
  connectChannel(name) {
    return this._link(channelAdapter(checkName(name, "name")));
  }

  /** `onMessage(data)` sees each raw message of this link before the engine does. */
  _link(adapter, onMessage) {
    const id = this._core.addLink((message) => adapter.post(message, transfersOf(message)));
    adapter.listen((data) => {
      if (onMessage) onMessage(data);
      const problem = this._core.receive(data, id);
      if (problem !== undefined) this._report(new Error(`dropped a malformed message: ${problem}`));
    });
    let open = true;
    this._runners.forEach((r) => r._core.announce());
    const link = {
      close: () => {
        if (!open) return;
        open = false;
        this._core.removeLink(id);
        adapter.close();
        this._links.delete(link);
      },
    };
    this._links.add(link);
    return link;
  }

  _report(error) {
    if (currentLogger) currentLogger("warn", error.message);
    else console.warn(`[workbus] ${error.message}`);
    this._listeners.emit("error", error);
  }

  /** Closes every link. */
  close() {
    for (const link of [...this._links]) link.close();
  }

}

disposable(LocalBus.prototype, {
  sync() {
    this.close();
  },
  async async() {
    await this.close();
  },
});

/** A bus linked to one postMessage endpoint (more can be added with `connect`). */
export class MessagePortBus extends LocalBus {
  constructor(endpoint) {
    const adapter = portAdapter(endpoint, "endpoint");
    super();
    this._link(adapter);
  }
}

/** A bus linked to a BroadcastChannel (more links can be added with `connect`). */
export class BroadcastChannelBus extends LocalBus {
  constructor(name) {
    const adapter = channelAdapter(checkName(name, "name"));
    super();
    this._link(adapter);
  }
}

// ----- registry --------------------------------------------------------------------------------

const handlerKeys = new WeakMap();
let nextHandlerKey = 1;
/** A stable number per handler function, so watching twice with one handler is one watch. */
function handlerKey(fn) {
  let key = handlerKeys.get(fn);
  if (key === undefined) {
    key = nextHandlerKey++;
    handlerKeys.set(fn, key);
  }
  return key;
}

export class WorkerRegistry extends Listening {
  constructor(runnerName, coreRegistry) {
    super();
    if (!coreRegistry) assertLoaded();
    this._core = coreRegistry ?? new core.CoreRegistry(checkName(runnerName, "runnerName"));
    // "ready" / "gone": the engine reports them only while someone listens.
    this._listeners = new Listeners(REGISTRY_EVENTS, (mask) =>
      this._core.setEventSink(mask ? (kind, data) => this._listeners.emit(REGISTRY_EVENTS[kind], data) : undefined),
    );
  }
  get runnerName() {
    return this._core.runnerName;
  }
  get localWorkers() {
    return this._core.localWorkers;
  }
  get remoteWorkers() {
    return this._core.remoteWorkers;
  }
  get(name) {
    return this._core.get(checkString(name, "name"));
  }
  has(name) {
    return this._core.has(checkString(name, "name"));
  }
  instances(name) {
    return this._core.instances(checkString(name, "name"));
  }
  watch(name, handler) {
    return rejecting(() => this._core.watch(checkString(name, "name"), handlerKey(checkFunction(handler, "handler")), handler));
  }
  unwatch(name, handler) {
    this._core.unwatch(checkString(name, "name"), handlerKey(checkFunction(handler, "handler")));
  }
  register(data) {
    return rejecting(() => {
      const d = checkOptions(data, "data");
      return this._core.register(checkName(d.workerName, "data.workerName"), checkName(d.runner, "data.runner"));
    });
  }
  entries() {
    return this._core.entries();
  }
}

// ----- runner ----------------------------------------------------------------------------------

/** What runners and workers share: listeners and the requester side of jobs. */
class Requesting extends Listening {
  job(workerName, params) {
    checkName(workerName, "workerName");
    return startContext(this._requester, [workerName], params, false, "params");
  }

  jobGroup(workerNames, params) {
    checkWorkerNames(workerNames, "workerNames");
    return startContext(this._requester, workerNames, params, true, "params");
  }

}

export class WorkerRunner extends Requesting {
  constructor(options) {
    assertLoaded();
    super();
    const o = checkOptions(options, "options");
    const name = o.name === undefined ? undefined : checkName(o.name, "options.name");
    if (o.bus !== undefined && !(o.bus instanceof LocalBus)) throw new TypeError(`options.bus must be a bus such as LocalBus, got ${describe(o.bus)}`);
    this.bus = o.bus ?? new LocalBus();
    this._core = new core.CoreRunner(name, this.bus._core);
    this.bus._runners.add(this);
    this.finished = this._core.finished();
    this.finished.then(() => this.bus._runners.delete(this));
    const interval = checkDuration(o.heartbeatInterval, "options.heartbeatInterval");
    const misses = o.heartbeatMisses === undefined ? undefined : checkCount(o.heartbeatMisses, "options.heartbeatMisses");
    if (interval !== undefined || misses !== undefined) this._core.setLiveness(interval ?? DEFAULT_HEARTBEAT_MS, misses ?? DEFAULT_HEARTBEAT_MISSES);
    const notReadyWarning = checkDuration(o.notReadyWarning, "options.notReadyWarning");
    if (notReadyWarning !== undefined) this._core.setNotReadyWarning(notReadyWarning);
    this._requester = this._core.requester;
    this.name = this._core.name;
    this.registry = new WorkerRegistry(undefined, this._core.registry());
    this._workers = new Map();
    this._listeners = new Listeners(RUNNER_EVENTS, () => {});
    this._core.setEventSink((kind, message) => {
      if (kind === 0) this._listeners.emit("ready");
      else this._listeners.emit("error", new Error(message));
    });
  }

  /** Records where workers (and their children) live, for getWorker and worker.runner. */
  _adopt(worker) {
    worker._runner = this;
    this._workers.set(worker.name, worker);
    worker._children.forEach((c) => this._adopt(c));
  }

  addWorkers(...workers) {
    return rejecting(async () => {
      workers.forEach((w, i) => checkWorker(w, `workers[${i}]`));
      await this._core.addWorkers(workers.map((w) => w._core.cloneHandle()));
      workers.forEach((w) => this._adopt(w));
    });
  }

  getWorker(name) {
    return this._workers.get(checkString(name, "name"));
  }

  start(options) {
    return rejecting(() => {
      const o = checkOptions(options, "options");
      return this._core.start(checkBoolean(o.autoEnd, "options.autoEnd", true));
    });
  }

  run(options) {
    return rejecting(async () => {
      await this.start(options);
      await this.finished;
    });
  }

  end(options) {
    return rejecting(() => {
      const { reason, gracePeriod } = stopOptions(options, "options");
      return this._core.end(reason, gracePeriod);
    });
  }

  cancel(options) {
    return rejecting(() => this._core.cancel(stopOptions(options, "options").reason));
  }

}

// `await using runner = new WorkerRunner()` ends it (gracefully) when the scope is left.
disposable(WorkerRunner.prototype, {
  async() {
    return this.end();
  },
});

// ----- worker ----------------------------------------------------------------------------------

export class Worker extends Requesting {
  constructor(name, options) {
    assertLoaded();
    super();
    checkName(name, "name");
    const o = checkOptions(options, "options");
    this._core = new core.CoreWorker(name, checkBoolean(o.active, "options.active", true));
    this._requester = this._core.requester;
    const coreWorker = this._core;
    setAbortHook();
    this._core.setRequestFactory((id, jobName, payload, source) => new JobRequest(id, jobName, payload, source, coreWorker));
    this.name = name;
    this._runner = null;
    this._children = [];
    this._finished = undefined;
    this._listeners = new Listeners(WORKER_EVENTS, (mask) => this._core.setEventSink(mask ? (i, arg) => this._emit(i, arg) : undefined, mask));
  }

  _emit(index, arg) {
    const event = WORKER_EVENTS[index];
    if (event === "deactivated" || event === "finished") this._listeners.emit(event);
    else this._listeners.emit(event, arg);
  }

  get active() {
    return this._core.active;
  }
  get activationArgs() {
    return this._core.activationArgs;
  }
  get parent() {
    return this._core.parent ?? null;
  }
  get children() {
    return Object.freeze([...this._children]);
  }
  get startedAt() {
    return this._core.startedAt ?? null;
  }
  get runner() {
    return this._runner;
  }
  get registry() {
    return this._runner ? this._runner.registry : null;
  }
  get activeJobs() {
    return new Map(this._core.activeJobs().map((r) => [r.id, r]));
  }
  get jobGroups() {
    return new Map(this._requester.groups().map((g) => [g.jobId, new JobGroup(g)]));
  }
  get finished() {
    if (!this._finished) this._finished = this._core.finished();
    return this._finished;
  }

  // worker side

  onJob(nameOrHandler, handlerOrOptions, options) {
    if (typeof nameOrHandler === "function") {
      if (checkOptions(handlerOrOptions, "options").sequential !== undefined) {
        throw new TypeError("options.sequential applies to named handlers only: onJob(jobName, handler, { sequential })");
      }
      this._core.onJob(undefined, untilJobEnds(nameOrHandler, this._core), false);
      return this;
    }
    // onJob(x, handler) with a bad x is a bad job name; onJob(x) alone lacks the handler.
    if (typeof nameOrHandler !== "string" && typeof handlerOrOptions !== "function") {
      throw new TypeError(`handler must be a function (onJob(handler) or onJob(jobName, handler)), got ${describe(nameOrHandler)}`);
    }
    checkName(nameOrHandler, "jobName");
    checkFunction(handlerOrOptions, "handler");
    const o = checkOptions(options, "options");
    this._core.onJob(nameOrHandler, untilJobEnds(handlerOrOptions, this._core), checkBoolean(o.sequential, "options.sequential", false));
    return this;
  }

  onWorkerReady(workerName, listener) {
    checkName(workerName, "workerName");
    checkFunction(listener, "listener");
    this._core.onWorkerReady(workerName, listener).then(undefined, (e) => logError("onWorkerReady", e));
    return this;
  }

  sendJobResponse(jobId, response, options) {
    return rejecting(() => {
      const o = checkOptions(options, "options");
      this._core.sendJobResponse(checkString(jobId, "jobId"), response, checkStatus(o.status), checkBoolean(o.urgent, "options.urgent", false));
    });
  }
  sendJobUpdate(jobId, update, options) {
    return rejecting(() => {
      const o = checkOptions(options, "options");
      this._core.sendJobUpdate(checkString(jobId, "jobId"), update, checkBoolean(o.urgent, "options.urgent", false));
    });
  }
  sendJobStreamStart(jobId, data) {
    return rejecting(() => this._core.sendJobStream(checkString(jobId, "jobId"), STREAM.start, data));
  }
  sendJobStreamData(jobId, data) {
    return rejecting(() => this._core.sendJobStream(checkString(jobId, "jobId"), STREAM.data, data));
  }
  sendJobStreamEnd(jobId, data) {
    return rejecting(() => this._core.sendJobStream(checkString(jobId, "jobId"), STREAM.end, data));
  }
  sendBusErrorMessage(error) {
    return rejecting(() => this._core.sendBusErrorMessage(checkString(error, "error")));
  }

  // requester side (job and jobGroup come from Requesting)

  requestJob(workerName, params) {
    return rejecting(() => this.job(workerName, params).started);
  }

  requestJobGroup(workerNames, params) {
    return rejecting(() => this.jobGroup(workerNames, params).started);
  }

  createJobGroupAndRequestJob(workerNames, params) {
    return rejecting(async () => {
      checkWorkerNames(workerNames, "workerNames");
      const p = jobParams(params, "params", true);
      const coreGroup = this._requester.startGroup(workerNames, p.name, p.payload, p.timeout, p.label, p.cancellable, p.cancelOnError, false);
      await new JobGroupContext(coreGroup, p.signal, false).started;
      return new JobGroup(coreGroup);
    });
  }

  cancelJobGroup(jobId, reason) {
    return rejecting(() => this._requester.cancelGroup(checkString(jobId, "jobId"), checkOptionalString(reason, "reason")));
  }
  requestCancelJobGroup(jobId, reason) {
    return rejecting(() => this._requester.requestCancel(checkString(jobId, "jobId"), checkOptionalString(reason, "reason")));
  }
  requestJobUpdate(jobId, workerName) {
    return rejecting(() => this._core.requestJobUpdate(checkString(jobId, "jobId"), checkName(workerName, "workerName")));
  }

  // lifecycle and tree

  addWorkers(...children) {
    return rejecting(async () => {
      children.forEach((c, i) => checkWorker(c, `workers[${i}]`));
      await this._core.addWorkers(children.map((c) => c._core.cloneHandle()));
      this._children.push(...children);
      if (this._runner) children.forEach((c) => this._runner._adopt(c));
    });
  }

  watchWorkers(...names) {
    return rejecting(() => this._core.watchWorkers(names.map((n, i) => checkName(n, `names[${i}]`))));
  }

  activateWorker(name, options) {
    return rejecting(() => {
      checkName(name, "name");
      const o = checkOptions(options, "options");
      let args = o.args;
      if (args !== undefined && args !== null) {
        if (typeof args !== "object" || Array.isArray(args)) throw new TypeError(`options.args must be an object, got ${describe(args)}`);
        if (typeof args.toDict === "function") args = args.toDict();
      }
      this._core.activateWorker(name, args, checkBoolean(o.deactivateSelf, "options.deactivateSelf", false));
    });
  }

  deactivateWorker(name) {
    return rejecting(() => this._core.deactivateWorker(checkName(name, "name")));
  }

  stop(options) {
    return rejecting(() => {
      const { reason, gracePeriod } = stopOptions(options, "options");
      return this._core.stop(reason, gracePeriod);
    });
  }

  endSession(options) {
    return rejecting(() => this._core.endSession(stopOptions(options, "options").reason));
  }

  cancelSession(options) {
    return rejecting(() => this._core.cancelSession(stopOptions(options, "options").reason));
  }
}


// ----- activation args -------------------------------------------------------------------------

function withoutNullish(entries) {
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined && v !== null));
}

function checkDict(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new TypeError(`obj must be an object, got ${describe(obj)}`);
  return obj;
}

function checkMessages(value, name) {
  if (value !== undefined && value !== null && !Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  return value ?? null;
}

function checkMetadata(value, name) {
  if (value !== undefined && value !== null && (typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value ?? null;
}

export class WorkerActivationArgs {
  constructor(init) {
    const o = checkOptions(init, "init");
    this.metadata = checkMetadata(o.metadata, "init.metadata");
  }
  static fromDict(obj) {
    return new WorkerActivationArgs({ metadata: checkMetadata(checkDict(obj).metadata, "obj.metadata") });
  }
  toDict() {
    return withoutNullish([["metadata", this.metadata]]);
  }
}

export class LLMWorkerActivationArgs {
  constructor(init) {
    const o = checkOptions(init, "init");
    this.metadata = checkMetadata(o.metadata, "init.metadata");
    this.messages = checkMessages(o.messages, "init.messages");
    this._runLlm = checkBoolean(o.runLlm ?? undefined, "init.runLlm", undefined);
  }
  static fromDict(obj) {
    const o = checkDict(obj);
    const runLlm = o.run_llm ?? o.runLlm;
    return new LLMWorkerActivationArgs({
      metadata: checkMetadata(o.metadata, "obj.metadata"),
      messages: checkMessages(o.messages, "obj.messages"),
      runLlm: checkBoolean(runLlm ?? undefined, o.run_llm != null ? "obj.run_llm" : "obj.runLlm", undefined),
    });
  }
  /** As given; otherwise true exactly when there are messages to run. */
  get runLlm() {
    return this._runLlm ?? this.messages !== null;
  }
  toDict() {
    return withoutNullish([["metadata", this.metadata], ["messages", this.messages], ["run_llm", this._runLlm]]);
  }
}

// ----- realms: Web Workers and worker threads ----------------------------------------------

function isPlatformWorker(v) {
  return v !== null && typeof v === "object" && typeof v.postMessage === "function" && typeof v.terminate === "function";
}

/** Node's worker_threads, when this is Node (the Node entry hands it over; Deno's and Bun's
 * `process` may offer it too). */
function workerThreads() {
  return host.workerThreads ?? globalThis.process?.getBuiltinModule?.("node:worker_threads");
}

/** How an error names the script of a realm. */
function scriptName(script) {
  if (!isPlatformWorker(script)) return String(script instanceof URL ? script.href : script);
  return typeof script.name === "string" && script.name ? `worker '${script.name}'` : "the given worker";
}

/**
 * The realm's own error from its Worker's "error" event: Node gives the thrown value; browsers
 * give an ErrorEvent (a script that threw: its message) or a bare Event (the script could not
 * be fetched or parsed), never the worker's own Error object.
 */
function realmError(event, nodeStyle) {
  if (nodeStyle) return event;
  if (event?.error instanceof Error) return event.error;
  return new Error(typeof event?.message === "string" && event.message ? event.message : "the script could not be loaded (missing, not a module, or a syntax error)");
}

function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

function createPlatformWorker(script, name) {
  const threads = workerThreads();
  if (threads) return new threads.Worker(typeof script === "string" && script.startsWith("file:") ? new URL(script) : script, { name });
  if (typeof globalThis.Worker !== "function") throw new Error("Worker is not available in this runtime");
  return new globalThis.Worker(script, { type: "module", name });
}

/**
 * Starts a worker realm (a module Web Worker, or a Node worker thread) running `script`, links
 * it to `runner.bus`, and resolves once the realm's runner has announced its workers. The
 * script serves its workers with `serveWorkers`.
 */
export async function spawnWorker(runner, script, options) {
  if (!(runner instanceof WorkerRunner)) throw new TypeError(`runner must be a WorkerRunner, got ${describe(runner)}`);
  const o = checkOptions(options, "options");
  const name = checkOptionalString(o.name, "options.name");
  const timeout = checkDuration(o.timeout, "options.timeout") ?? DEFAULT_SPAWN_TIMEOUT_MS;
  if (!isPlatformWorker(script) && typeof script !== "string" && !(script instanceof URL)) {
    throw new TypeError(`script must be a URL, a string or a Worker, got ${describe(script)}`);
  }
  const worker = isPlatformWorker(script) ? script : createPlatformWorker(script, name);
  const named = scriptName(script);
  let announce;
  const announced = new Promise((resolve) => (announce = resolve));
  const link = runner.bus._link(portAdapter(worker, "script"), (data) => {
    if (data?.type === "BusWorkerRegistryMessage" && Array.isArray(data.workers) && data.workers.length > 0) announce(data);
  });
  let realmRunner;
  let spawned = false;
  const gone = () => {
    link.close();
    if (realmRunner) runner._core.remoteRunnerGone(realmRunner);
  };
  const terminate = async () => {
    await worker.terminate();
    gone();
  };
  // A realm that fails while loading rejects the spawn at once; one that fails later is
  // reported on the bus and ended (its workers are gone). Either way the error is handled here:
  // an unwatched "error" would crash a Node process, and would reach a page's onerror.
  let failed;
  const failure = new Promise((_, reject) => (failed = reject));
  const nodeStyle = typeof worker.on === "function";
  const onError = (event) => {
    if (typeof event?.preventDefault === "function") event.preventDefault();
    const cause = realmError(event, nodeStyle);
    if (!spawned) {
      failed(new Error(`the worker script ${named} failed to load: ${messageOf(cause)}`, { cause }));
      return;
    }
    runner.bus._report(new Error(`the worker script ${named} failed: ${messageOf(cause)}`, { cause }));
    terminate().catch(() => {});
  };
  // Node tells when a thread ends (terminated or crashed); browsers rely on heartbeats.
  if (nodeStyle) {
    worker.on("error", onError);
    worker.on("exit", (code) => {
      if (!spawned) failed(new Error(`the worker script ${named} exited (code ${code}) before announcing its workers`));
      gone();
    });
  } else {
    worker.addEventListener("error", onError);
  }
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the worker script ${named} did not announce its workers within ${timeout} ms`)), timeout);
  });
  try {
    const snapshot = await Promise.race([announced, late, failure]);
    realmRunner = snapshot.runner;
    const workers = snapshot.workers.map((w) => w.name);
    await Promise.race([Promise.all(workers.map((w) => runner.registry.watch(w, resolveOnce()))), late, failure]);
    spawned = true;
    runner.finished.then(() => terminate().catch(() => {}));
    return realmHandle({ runner: realmRunner, workers, worker, terminate });
  } catch (e) {
    spawned = true; // from here on, the realm's errors are only reported
    await terminate().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** What `spawnWorker` resolves with; `await using` terminates the realm. */
function realmHandle(handle) {
  return disposable(handle, { async: handle.terminate });
}

/** A registry watcher that only marks readiness (each call makes a distinct handler). */
function resolveOnce() {
  return () => {};
}

function defaultEndpoint() {
  const threads = workerThreads();
  if (threads) {
    if (threads.parentPort) return threads.parentPort;
  } else if (typeof globalThis.postMessage === "function" && typeof globalThis.document === "undefined") {
    return globalThis;
  }
  throw new TypeError("options.endpoint is required outside a Web Worker or worker thread");
}

/**
 * In a worker realm: serves `workers` to the realm that started it (or to `options.endpoint`).
 * Resolves with the started runner; the links close when it finishes.
 */
export async function serveWorkers(workers, options) {
  if (!Array.isArray(workers)) throw new TypeError(`workers must be an array of Workers, got ${describe(workers)}`);
  workers.forEach((w, i) => checkWorker(w, `workers[${i}]`));
  const o = checkOptions(options, "options");
  if (o.endpoint !== undefined && o.endpoint !== null) portAdapter(o.endpoint, "options.endpoint");
  const bus = new MessagePortBus(o.endpoint ?? defaultEndpoint());
  const runner = new WorkerRunner({ name: o.name, bus, heartbeatInterval: o.heartbeatInterval, heartbeatMisses: o.heartbeatMisses });
  await runner.addWorkers(...workers);
  await runner.start({ autoEnd: false });
  // Let the goodbye leave before the links close.
  runner.finished.then(() => setTimeout(() => bus.close(), 0));
  return runner;
}

// ----- Pipecat's wire: JSON envelopes, Redis, the WebSocket proxy --------------------------------

function checkLimit(value, name) {
  return value === undefined ? undefined : checkCount(value, name);
}

/** A message object (as listeners see it) in Pipecat's JSON envelope text. */
export function encodeMessage(message) {
  assertLoaded();
  try {
    return encodeWire(message);
  } catch (e) {
    throw new TypeError(`message: ${e.message}`);
  }
}

/**
 * A message object from Pipecat's JSON text (or its UTF-8 bytes); `null` for a type outside
 * Pipecat's catalogue. Throws an Error naming the problem when the text is malformed.
 */
export function decodeMessage(text, limits) {
  assertLoaded();
  const l = checkOptions(limits, "limits");
  const maxBytes = checkLimit(l.maxBytes, "limits.maxBytes");
  const maxDepth = checkLimit(l.maxDepth, "limits.maxDepth");
  const input = textOf(text, "text", maxBytes);
  try {
    return decodeWire(input, maxBytes, maxDepth);
  } catch (e) {
    if (e instanceof WireError) throw new Error(`malformed Pipecat message: ${e.message}`);
    throw e;
  }
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Text of a string, or of UTF-8 bytes that fit `maxBytes` (refused before they are decoded). */
function textOf(data, name, maxBytes = DEFAULT_MAX_BYTES) {
  if (typeof data === "string") return data;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    if (data.byteLength > maxBytes) throw new Error(`malformed Pipecat message: message of ${data.byteLength} bytes is over the limit of ${maxBytes}`);
    return new TextDecoder().decode(data);
  }
  throw new TypeError(`${name} must be a string or bytes, got ${describe(data)}`);
}

/** Why a message from a wire is dropped: a WireError's text, a sealed wrapper's refusal (a string). */
const problemOf = (e) => (typeof e === "string" ? e : (e?.message ?? String(e)));

/** The Pipecat text inside a sealed wrapper, if it opens with `secret`; throws why not. */
function unseal(text, secret, maxBytes, maxDepth) {
  const sealed = parseWire(text, maxBytes, maxDepth);
  const field = (k) => (sealed !== null && typeof sealed === "object" && !Array.isArray(sealed) ? sealed[k] : undefined);
  return core.openSealed(secret, field("t"), field("mac"), field("msg"));
}

/** A message leaving for a Pipecat wire as text (sealed with `secret`); `null`, logged, if it cannot be. */
function wireTextOf(message, secret) {
  try {
    const text = encodeWire(message);
    return secret === undefined ? text : core.sealMessage(secret, text);
  } catch (e) {
    log("error", `could not send ${message.type} (source=${message.source}, target=${message.target ?? "None"}) as Pipecat JSON: ${e.message}`);
    return null;
  }
}

const ECHO_MEMORY = 10000;

/**
 * Why a Redis client given to RedisBus cannot work, or undefined. A node-redis client does
 * nothing until `connect()` (its commands fail with "The client is closed"), and an ioredis
 * client whose connection has ended never reconnects; an ioredis client that is connecting,
 * or waiting with `lazyConnect`, connects on its first command and is fine.
 */
function unusableRedisClient(client) {
  if (typeof client.isOpen === "boolean" && !client.isOpen) {
    return "is a node-redis client that is not connected (isOpen is false): call `await client.connect()` before passing it";
  }
  if (client.status === "end") {
    return 'is an ioredis client whose connection has ended (status is "end"): pass a client that is connected or connecting';
  }
  return undefined;
}

/**
 * A bus joined to every process on a Redis pub/sub channel (Pipecat's `RedisBus`), speaking
 * Pipecat's JSON. Pass a connected node-redis or ioredis client; the bus subscribes on a
 * duplicate of it unless given `subscriber`. Await `ready` before starting runners on it.
 */
export class RedisBus extends LocalBus {
  constructor(options) {
    const o = checkOptions(options, "options");
    if (!o.client || typeof o.client.publish !== "function") {
      throw new TypeError(`options.client must be a connected Redis client (node-redis or ioredis), got ${describe(o.client)}`);
    }
    if (o.subscriber !== undefined && (!o.subscriber || typeof o.subscriber.subscribe !== "function")) {
      throw new TypeError(`options.subscriber must be a Redis client, got ${describe(o.subscriber)}`);
    }
    for (const [client, name] of [[o.client, "options.client"], [o.subscriber, "options.subscriber"]]) {
      const problem = client === undefined ? undefined : unusableRedisClient(client);
      if (problem) throw new TypeError(`${name} ${problem}`);
    }
    const channel = o.channel === undefined ? "pipecat:bus" : checkName(o.channel, "options.channel");
    const maxBytes = checkLimit(o.maxBytes, "options.maxBytes");
    const maxDepth = checkLimit(o.maxDepth, "options.maxDepth");
    const secret = o.secret === undefined ? undefined : checkName(o.secret, "options.secret");
    super();
    this.channel = channel;
    const client = o.client;
    const ownSubscriber = o.subscriber === undefined;
    const subscriber = o.subscriber ?? client.duplicate();
    // Redis sends our own messages back; they were delivered here already.
    const echoes = new Map();
    let subscribed = false;
    const waiting = [];
    // During an outage, report the first failure only, until Redis works again.
    let failing = false;
    const outage = (what, e) => {
      if (!failing) this._report(new Error(`${what}: ${e?.message ?? e}`));
      failing = true;
    };
    const publish = (text) => {
      echoes.set(text, (echoes.get(text) ?? 0) + 1);
      if (echoes.size > ECHO_MEMORY) echoes.delete(echoes.keys().next().value);
      Promise.resolve(client.publish(channel, text)).then(
        () => (failing = false),
        (e) => outage("could not publish to Redis", e),
      );
    };
    // Nothing leaves before the subscription is active, so no reply to us can be missed.
    const id = this._core.addLink((message) => {
      const text = wireTextOf(message, secret);
      if (text !== null) subscribed ? publish(text) : waiting.push(text);
    });
    const receive = (text) => {
      const seen = echoes.get(text);
      if (seen !== undefined) {
        if (seen > 1) echoes.set(text, seen - 1);
        else echoes.delete(text);
        return;
      }
      if (text.length > (maxBytes ?? DEFAULT_MAX_BYTES)) {
        this._report(new Error(`dropped a message of at least ${text.length} bytes: over the limit`));
        return;
      }
      let message;
      try {
        message = decodeWire(secret === undefined ? text : unseal(text, secret, maxBytes, maxDepth), maxBytes, maxDepth);
      } catch (e) {
        // Reported, never thrown into the Redis client's callback.
        this._report(new Error(`dropped a malformed message: ${problemOf(e)}`));
        return;
      }
      if (message === null) {
        log("warn", `dropped a message of a type outside Pipecat's catalogue: ${text.slice(0, 200)}`);
        return;
      }
      const problem = this._core.receive(message, id);
      if (problem !== undefined) this._report(new Error(`dropped a malformed message: ${problem}`));
    };
    const isIoredis = typeof subscriber.status === "string";
    // A connection the bus made is the bus's to watch: an unwatched "error" would crash Node.
    if (ownSubscriber && typeof subscriber.on === "function") subscriber.on("error", (e) => outage("Redis subscriber", e));
    this.ready = (async () => {
      if (ownSubscriber && !isIoredis && typeof subscriber.connect === "function" && !subscriber.isOpen) await subscriber.connect();
      if (isIoredis) {
        subscriber.on("message", (ch, text) => ch === channel && receive(text));
        await subscriber.subscribe(channel);
      } else {
        await subscriber.subscribe(channel, (text) => receive(text));
      }
      subscribed = true;
      waiting.splice(0).forEach(publish);
    })();
    this.ready.catch(() => {}); // reported where awaited
    this._closeRedis = async () => {
      this._core.removeLink(id);
      subscribed = false;
      if (ownSubscriber) {
        // At once, even while the server is gone (a polite quit would wait for it forever).
        await Promise.resolve(subscriber.disconnect?.() ?? subscriber.destroy?.()).catch(() => {});
      } else {
        await Promise.resolve(subscriber.unsubscribe(channel)).catch(() => {});
      }
    };
  }

  /** Unsubscribes, and closes the subscriber connection if the bus made it; once. */
  async close() {
    super.close();
    this._closed ??= this._closeRedis();
    await this._closed;
  }
}

/**
 * A worker that joins this runner to a Pipecat `WebSocketProxyServer`: messages for
 * `remoteWorkerName` (and the `forwardMessages` types that `localWorkerName` sends) cross the
 * socket; what comes back for `localWorkerName` (or of a forwarded type) is delivered here.
 * Like Pipecat's, it connects when activated (`active: true` connects at start).
 */
export class WebSocketProxyClient extends Worker {
  constructor(name, options) {
    const o = checkOptions(options, "options");
    const url = o.url instanceof URL ? o.url.href : checkName(o.url, "options.url");
    const remote = checkName(o.remoteWorkerName, "options.remoteWorkerName");
    const local = checkName(o.localWorkerName, "options.localWorkerName");
    const forward = o.forwardMessages === undefined ? [] : o.forwardMessages;
    if (!Array.isArray(forward)) throw new TypeError(`options.forwardMessages must be an array of message type names, got ${describe(forward)}`);
    forward.forEach((t, i) => checkName(t, `options.forwardMessages[${i}]`));
    if (o.headers !== undefined && (o.headers === null || typeof o.headers !== "object")) throw new TypeError(`options.headers must be an object, got ${describe(o.headers)}`);
    if (o.WebSocket !== undefined) checkFunction(o.WebSocket, "options.WebSocket");
    super(name, { active: checkBoolean(o.active, "options.active", false) });
    this._listeners.names = [...WORKER_EVENTS, "connected", "disconnected"];
    this._proxy = { url, remote, local, forward: new Set(forward), headers: o.headers, WebSocket: o.WebSocket, socket: null, link: undefined };
    this.on("activated", () => this._connect());
    this.on("finished", () => this._disconnect());
  }

  /** Whether the socket is open. */
  get connected() {
    return this._proxy.socket !== null;
  }

  _connect() {
    const p = this._proxy;
    if (p.socket || !this.runner) return;
    const WebSocketClass = p.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocketClass !== "function") {
      logError(`WebSocketProxyClient '${this.name}'`, new Error("WebSocket is not available in this runtime: pass options.WebSocket (e.g. the ws package)"));
      return;
    }
    const socket = p.headers ? new WebSocketClass(p.url, undefined, { headers: p.headers }) : new WebSocketClass(p.url);
    socket.binaryType = "arraybuffer";
    const bus = this.runner.bus;
    const encoder = new TextEncoder();
    socket.onopen = () => {
      p.socket = socket;
      p.link = bus._core.addLink((message) => {
        const outbound = message.target === p.remote || (p.forward.has(message.type) && message.source === p.local);
        if (!outbound || !p.socket) return;
        const text = wireTextOf(message);
        if (text !== null) socket.send(encoder.encode(text));
      });
      this._listeners.emit("connected");
    };
    socket.onmessage = (event) => this._inbound(event.data);
    socket.onclose = () => this._disconnect();
    socket.onerror = (event) => logError(`WebSocketProxyClient '${this.name}'`, event?.error ?? new Error(`cannot use ${p.url}`));
  }

  _inbound(data) {
    const p = this._proxy;
    let message;
    try {
      message = decodeMessage(textOf(data, "data"));
    } catch (e) {
      this.runner?.bus._report(e);
      return;
    }
    if (p.link === undefined) return;
    if (message === null) {
      log("warn", `WebSocketProxyClient '${this.name}' dropped a message of a type outside Pipecat's catalogue: ${textOf(data, "data").slice(0, 200)}`);
      return;
    }
    const accepted = message.type === "BusWorkerRegistryMessage" || p.forward.has(message.type) || message.target === p.local;
    if (!accepted) {
      log("warn", `WebSocketProxyClient '${this.name}' dropped ${message.type} for '${message.target}'`);
      return;
    }
    this.runner.bus._core.receive(message, p.link);
  }

  _disconnect() {
    const p = this._proxy;
    if (p.link !== undefined) this.runner?.bus._core.removeLink(p.link);
    p.link = undefined;
    const socket = p.socket;
    p.socket = null;
    if (socket) {
      try {
        socket.close();
      } catch {
        // already closed
      }
      this._listeners.emit("disconnected");
    }
  }
}

export const PgmqBus = definePgmqBus({ LocalBus, wireTextOf, unseal, decodeWire, problemOf, log, checkOptions, checkName, checkCount, describe, DEFAULT_MAX_BYTES });
