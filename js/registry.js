// WorkerRegistry: which workers exist, here and on other runners, and waiting for them.

import * as core from "./core.js";
import { checkFunction, checkName, checkOptions, checkString, rejecting } from "./checks.js";
import { REGISTRY_EVENTS } from "./constants.js";
import { Listeners, Listening } from "./listeners.js";
import { assertLoaded } from "./loading.js";

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
