// WebSocketProxyClient: a worker that joins a runner to a Pipecat WebSocketProxyServer.

import { busCore, reportOnBus } from "./buses.js";
import { checkBoolean, checkFunction, checkName, checkOptions, describe } from "./checks.js";
import { REGISTRY_MESSAGE, WORKER_EVENTS } from "./constants.js";
import { log, logError } from "./log.js";
import { decodeMessage, textOf, wireTextOf } from "./messages.js";
import { remoteRunnerGone } from "./runner.js";
import { Worker } from "./worker.js";

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
    this._proxy = { url, remote, local, forward: new Set(forward), headers: o.headers, WebSocket: o.WebSocket, socket: null, link: undefined, runners: new Set() };
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
    const bus = busCore(this.runner.bus);
    const encoder = new TextEncoder();
    socket.onopen = () => {
      p.socket = socket;
      p.link = bus.addLink((message) => {
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
      if (this.runner) reportOnBus(this.runner.bus, e);
      return;
    }
    if (p.link === undefined) return;
    if (message === null) {
      log("warn", `WebSocketProxyClient '${this.name}' dropped a message of a type outside Pipecat's catalogue: ${textOf(data, "data").slice(0, 200)}`);
      return;
    }
    const accepted = message.type === REGISTRY_MESSAGE || p.forward.has(message.type) || message.target === p.local;
    if (!accepted) {
      log("warn", `WebSocketProxyClient '${this.name}' dropped ${message.type} for '${message.target}'`);
      return;
    }
    // The runners announced through the socket are reachable only through it (see _disconnect).
    if (message.type === REGISTRY_MESSAGE) p.runners.add(message.runner);
    busCore(this.runner.bus).receive(message, p.link);
  }

  _disconnect() {
    const p = this._proxy;
    if (p.link !== undefined && this.runner) busCore(this.runner.bus).removeLink(p.link);
    p.link = undefined;
    // Nothing sends their goodbye or heartbeats across the proxy: once the socket is gone, the
    // runners announced through it are gone, so jobs waiting on their workers fail at once.
    if (this.runner) for (const runner of p.runners) remoteRunnerGone(this.runner, runner);
    p.runners.clear();
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
