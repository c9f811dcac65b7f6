// The worker side of a job: the JobRequest a handler gets, and how the engine calls handlers.

import * as core from "./core.js";
import { checkBoolean, checkOptions, checkStatus, rejecting } from "./checks.js";
import { STREAM } from "./constants.js";

class JobRequest {
  /** `key`: the engine's number for the job, which its calls pass rather than the id. */
  constructor(id, name, payload, source, coreWorker, key) {
    this.id = id;
    this.name = name;
    this.payload = payload;
    this.source = source;
    /** Which try this is: 1, then 2 and on when a pool sends the job again (`retries`). */
    this.attempt = 1;
    this._worker = coreWorker;
    this._key = key;
    this._abortReason = undefined;
    this._controller = undefined;
    this._isOver = false;
    this._onEnd = undefined;
  }
  /** Called by the engine (through the abort hook) when the job is aborted. */
  _abort(reason) {
    this._abortReason = reason;
    this._controller?.abort(reason);
    this._end();
  }
  /** Calls `fn` once the job is over (answered or aborted), whatever its handler does. */
  _whenEnded(fn) {
    if (this._isOver) fn();
    else this._onEnd = fn;
  }
  _end() {
    this._isOver = true;
    const onEnd = this._onEnd;
    this._onEnd = undefined;
    onEnd?.();
  }
  /** Aborts when the job is cancelled or the worker stops (made on first use: it is costly). */
  get signal() {
    if (!this._controller) {
      this._controller = new AbortController();
      if (this._abortReason !== undefined) this._controller.abort(this._abortReason);
    }
    return this._controller.signal;
  }
  // Each call names the job by its key; once the job is over, by its id, for the error.
  update(data, options) {
    return rejecting(() => {
      const urgent = checkBoolean(checkOptions(options, "options").urgent, "options.urgent", false);
      this._worker.sendKeyedJobUpdate(this._key, data, urgent) || this._worker.sendJobUpdate(this.id, data, urgent);
    });
  }
  _stream(kind, data) {
    this._worker.sendKeyedJobStream(this._key, kind, data) || this._worker.sendJobStream(this.id, kind, data);
  }
  streamStart(data) {
    return rejecting(() => this._stream(STREAM.start, data));
  }
  streamData(data) {
    return rejecting(() => this._stream(STREAM.data, data));
  }
  streamEnd(data) {
    return rejecting(() => {
      this._stream(STREAM.end, data);
      this._end();
    });
  }
  respond(response, options) {
    return rejecting(() => {
      const o = checkOptions(options, "options");
      const status = checkStatus(o.status);
      const urgent = checkBoolean(o.urgent, "options.urgent", false);
      this._worker.sendKeyedJobResponse(this._key, response, status, urgent) || this._worker.sendJobResponse(this.id, response, status, urgent);
      this._end();
    });
  }
  get [Symbol.toStringTag]() {
    return "JobRequest";
  }
}

/**
 * The handler as the engine calls it. A plain value is its answer. For a thenable, the engine
 * is told that the answer comes later (`handlerPending`) and then what it is (`settleHandler`),
 * whichever comes first of the thenable settling and the job ending (so a handler that never
 * settles does not keep its job's bookkeeping after the job). A rejection that comes after the
 * job ended goes to the engine, which reports it.
 */
export function untilJobEnds(handler, coreWorker) {
  return (request) => {
    const result = handler(request);
    if (result === null || (typeof result !== "object" && typeof result !== "function") || typeof result.then !== "function") return result;
    const key = core.handlerPending();
    let settled = false;
    const settle = (ok, value) => {
      if (settled) return false;
      settled = true;
      core.settleHandler(key, ok, value);
      return true;
    };
    Promise.resolve(result).then(
      (value) => settle(true, value),
      (error) => {
        if (!settle(false, error)) coreWorker.reportHandlerError(request.id, error, request._abortReason !== undefined);
      },
    );
    request._whenEnded(() => settle(true, undefined));
    return undefined;
  };
}

let abortHookSet = false;
/** Once per realm, after the engine has loaded (browsers load it in `init()`, not on import). */
function setAbortHook() {
  if (!abortHookSet) core.setAbortHook((request, reason) => request._abort(reason));
  abortHookSet = true;
}

/** Has the engine hand `coreWorker`'s handlers a JobRequest for each job it receives. */
export function serveRequests(coreWorker) {
  setAbortHook();
  coreWorker.setRequestFactory((id, jobName, payload, source, key) => new JobRequest(id, jobName, payload, source, coreWorker, key));
}
