// Buses: the in-process LocalBus and its links to other realms over postMessage endpoints and
// BroadcastChannels, and `transfer` for what those links move rather than copy.

import * as core from "./core.js";
import { checkName, describe } from "./checks.js";
import { disposable } from "./disposable.js";
import { Listeners, Listening } from "./listeners.js";
import { assertLoaded } from "./loading.js";
import { log } from "./log.js";

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
export function portAdapter(endpoint, name) {
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
    // Runners on this bus introduce themselves on every new link (see announceOnLinks).
    this._announcers = new Set();
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
    this._announcers.forEach((announce) => announce());
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
    log("warn", error.message);
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

// What the rest of the façade uses of a bus (runners, realms, transports over it).

/** The engine's bus under `bus`. */
export function busCore(bus) {
  return bus._core;
}

/** Links `bus` to a transport `adapter` ({ post, listen, close }); returns the link ({ close }). */
export function linkBus(bus, adapter, onMessage) {
  return bus._link(adapter, onMessage);
}

/** Reports a dropped message or a failed link: logged, and emitted as the bus's "error". */
export function reportOnBus(bus, error) {
  bus._report(error);
}

/** Calls `announce` on every new link of `bus`; returns what stops it. */
export function announceOnLinks(bus, announce) {
  bus._announcers.add(announce);
  return () => bus._announcers.delete(announce);
}
