// WorkerRunner: runs workers on a bus, with its registry, until it ends.

import * as core from "./core.js";
import { announceOnLinks, busCore, LocalBus } from "./buses.js";
import { checkBoolean, checkCount, checkDuration, checkName, checkOptions, checkString, describe, rejecting, stopOptions } from "./checks.js";
import { DEFAULT_HEARTBEAT_MISSES, DEFAULT_HEARTBEAT_MS, RUNNER_EVENTS } from "./constants.js";
import { Requesting } from "./contexts.js";
import { disposable } from "./disposable.js";
import { Listeners } from "./listeners.js";
import { assertLoaded } from "./loading.js";
import { WorkerRegistry } from "./registry.js";
import { adoptWorker, checkWorker, coreHandles } from "./worker.js";

export class WorkerRunner extends Requesting {
  constructor(options) {
    assertLoaded();
    super();
    const o = checkOptions(options, "options");
    const name = o.name === undefined ? undefined : checkName(o.name, "options.name");
    if (o.bus !== undefined && !(o.bus instanceof LocalBus)) throw new TypeError(`options.bus must be a bus such as LocalBus, got ${describe(o.bus)}`);
    this.bus = o.bus ?? new LocalBus();
    this._core = new core.CoreRunner(name, busCore(this.bus));
    const stopAnnouncing = announceOnLinks(this.bus, () => this._core.announce());
    this.finished = this._core.finished();
    this.finished.then(stopAnnouncing);
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
      if (RUNNER_EVENTS[kind] === "ready") this._listeners.emit("ready");
      else this._listeners.emit("error", new Error(message));
    });
  }

  addWorkers(...workers) {
    return rejecting(async () => {
      workers.forEach((w, i) => checkWorker(w, `workers[${i}]`));
      await this._core.addWorkers(coreHandles(workers));
      workers.forEach((w) => adoptWorker(w, this, this._workers));
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

/** Tells `runner` that the runner `name` (a realm it spawned, or one behind a closed proxy) is gone with all its workers. */
export function remoteRunnerGone(runner, name) {
  runner._core.remoteRunnerGone(name);
}
