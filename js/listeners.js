// Event listeners (on/off/once) of buses, registries, runners and workers.

import { checkFunction, describe } from "./checks.js";
import { logError } from "./log.js";

/** on/off/once over a fixed set of event names; tells the engine which events are wanted. */
export class Listeners {
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
export class Listening {
  /** @type {Listeners} (each subclass sets it) */
  _listeners;

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
