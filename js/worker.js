// Worker: serves jobs, requests jobs of other workers, and has children and a lifecycle.

import * as core from "./core.js";
import {
  checkBoolean, checkFunction, checkName, checkOptionalString, checkOptions, checkStatus, checkString, checkWorkerNames,
  describe, rejecting, stopOptions,
} from "./checks.js";
import { STREAM, WORKER_EVENTS } from "./constants.js";
import { JobGroup, Requesting, startJobGroup } from "./contexts.js";
import { Listeners } from "./listeners.js";
import { assertLoaded } from "./loading.js";
import { logError } from "./log.js";
import { serveRequests, untilJobEnds } from "./request.js";

export class Worker extends Requesting {
  constructor(name, options) {
    assertLoaded();
    super();
    checkName(name, "name");
    const o = checkOptions(options, "options");
    this._core = new core.CoreWorker(name, checkBoolean(o.active, "options.active", true));
    this._requester = this._core.requester;
    serveRequests(this._core);
    this.name = name;
    // Set by the runner that adopts this worker (adoptWorker).
    this._runner = null;
    this._runnerWorkers = null;
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
  /**
   * Sends any Pipecat bus message (`{ type, target?, ...fields }` in camelCase, `source` left
   * out or this worker's name) to local and remote peers alike; no `target` broadcasts it.
   */
  sendBusMessage(message) {
    return rejecting(() => {
      if (message === null || typeof message !== "object" || Array.isArray(message)) throw new TypeError(`message must be a bus message object, got ${describe(message)}`);
      this._core.sendBusMessage(message.source === undefined ? { ...message, source: this.name } : message);
    });
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
    return rejecting(() => startJobGroup(this._requester, checkWorkerNames(workerNames, "workerNames"), params));
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
      await this._core.addWorkers(coreHandles(children));
      this._children.push(...children);
      if (this._runner) children.forEach((c) => adoptWorker(c, this._runner, this._runnerWorkers));
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

export function checkWorker(value, name) {
  if (!(value instanceof Worker)) throw new TypeError(`${name} must be a Worker, got ${describe(value)}`);
  return value;
}

/** The engine's handles of `workers`, for a runner or a parent to add them. */
export function coreHandles(workers) {
  return workers.map((w) => w._core.cloneHandle());
}

/** Records that `worker` (and its children) run on `runner`, for getWorker and worker.runner. */
export function adoptWorker(worker, runner, byName) {
  worker._runner = runner;
  worker._runnerWorkers = byName;
  byName.set(worker.name, worker);
  worker._children.forEach((c) => adoptWorker(c, runner, byName));
}
