// The server half of Pipecat's WebSocket proxy (`pipecat.workers.proxy.websocket.server`).

import { busCore, reportOnBus } from "./buses.js";
import { checkName, checkOptions, describe } from "./checks.js";
import { log, logError } from "./log.js";
import { decodeMessage, textOf, wireTextOf } from "./messages.js";
import { Worker } from "./worker.js";

const SERVER_EVENTS = ["clientConnected", "clientDisconnected"];

/** Whether `socket` looks like an accepted WebSocket this proxy can drive. */
function isSocket(socket) {
  return socket !== null && typeof socket === "object" && typeof socket.send === "function" && typeof socket.addEventListener === "function";
}

/**
 * A worker that serves one local worker (`workerName`) to the `WebSocketProxyClient` on the
 * other end of an accepted WebSocket (from the `ws` package, `Deno.upgradeWebSocket`, or any
 * standard WebSocket). As Pipecat's: it announces `workerName` to the client once it is ready;
 * what `workerName` sends to `remoteWorkerName` (or of a `forwardMessages` type) crosses the
 * socket; what arrives for `workerName` (or of a forwarded type) is delivered here.
 */
export class WebSocketProxyServer extends Worker {
  constructor(name, options) {
    const o = checkOptions(options, "options");
    if (!isSocket(o.websocket)) {
      throw new TypeError(`options.websocket must be an accepted WebSocket (with send and addEventListener), got ${describe(o.websocket)}`);
    }
    const worker = checkName(o.workerName, "options.workerName");
    const remote = checkName(o.remoteWorkerName, "options.remoteWorkerName");
    const forward = o.forwardMessages === undefined ? [] : o.forwardMessages;
    if (!Array.isArray(forward)) throw new TypeError(`options.forwardMessages must be an array of message type names, got ${describe(forward)}`);
    forward.forEach((t, i) => checkName(t, `options.forwardMessages[${i}]`));
    super(name);
    this._listeners.names = [...this._listeners.names, ...SERVER_EVENTS];
    const socket = o.websocket;
    this._proxy = { worker, remote, forward: new Set(forward), accepted: socket, socket, link: undefined, started: false, early: [] };
    socket.binaryType = "arraybuffer";
    // Messages that come before the proxy starts wait for it, as on Pipecat's unread socket.
    socket.addEventListener("message", (event) => (this._proxy.started ? this._inbound(event.data) : this._proxy.early.push(event.data)));
    socket.addEventListener("close", () => this._disconnect(false));
    socket.addEventListener("error", (event) => logError(`WebSocketProxyServer '${this.name}'`, event?.error ?? new Error("WebSocket error")));
    // Active from the start like Pipecat's, so "activated" marks its start.
    this.once("activated", () => this._start());
    this.on("finished", () => this._disconnect(true));
  }

  /** Whether the client is still connected. */
  get connected() {
    return this._proxy.socket !== null;
  }

  _start() {
    const p = this._proxy;
    if (p.started || !this.runner) return;
    // Deno's upgraded socket opens only once its response is sent: serve from then on.
    if (p.socket && p.socket.readyState === 0) {
      if (!p.awaitingOpen) p.socket.addEventListener("open", () => this._start(), { once: true });
      p.awaitingOpen = true;
      return;
    }
    p.started = true;
    const bus = this.runner.bus;
    const encoder = new TextEncoder();
    const send = (message) => {
      const text = wireTextOf(message);
      if (text === null || !p.socket) return;
      try {
        p.socket.send(encoder.encode(text));
      } catch (e) {
        logError(`WebSocketProxyServer '${this.name}'`, e);
        this._disconnect(false);
      }
    };
    if (p.socket) {
      p.link = busCore(bus).addLink((message) => {
        const outbound = message.source === p.worker && (message.target === p.remote || p.forward.has(message.type));
        if (outbound) send(message);
      });
    }
    this._listeners.emit("clientConnected", p.accepted);
    if (!p.socket) this._listeners.emit("clientDisconnected", p.accepted);
    // Pipecat's discovery, one way: the client's runner registers `workerName` as a worker of
    // this runner (an entry with default flags), over the socket only.
    const runnerName = this.runner.name;
    this.on("workerReady", (data) => {
      if (data.workerName !== p.worker) return;
      const entry = { name: p.worker, parent: null, active: false, bridged: false, startedAt: null };
      send({ type: "BusWorkerRegistryMessage", source: this.name, target: null, runner: runnerName, workers: [entry] });
    });
    this.watchWorkers(p.worker).then(undefined, (e) => logError(`WebSocketProxyServer '${this.name}'`, e));
    for (const data of p.early.splice(0)) this._inbound(data);
    if (p.socket && p.socket.readyState >= 2) this._disconnect(false);
  }

  _inbound(data) {
    const p = this._proxy;
    if (p.link === undefined) return;
    const bus = this.runner.bus;
    let message;
    try {
      message = decodeMessage(textOf(data, "data"));
    } catch (e) {
      reportOnBus(bus, e);
      return;
    }
    if (message === null) {
      log("warn", `WebSocketProxyServer '${this.name}' dropped a message of a type outside Pipecat's catalogue: ${textOf(data, "data").slice(0, 200)}`);
      return;
    }
    if (!p.forward.has(message.type) && message.target !== p.worker) {
      log("warn", `WebSocketProxyServer '${this.name}' dropped ${message.type} for '${message.target}'`);
      return;
    }
    const problem = busCore(bus).receive(message, p.link);
    if (problem !== undefined) reportOnBus(bus, new Error(`dropped a malformed message: ${problem}`));
  }

  /** The client left (or the proxy stopped, `closing` the socket): forwarding ends. */
  _disconnect(closing) {
    const p = this._proxy;
    if (p.link !== undefined && this.runner) busCore(this.runner.bus).removeLink(p.link);
    p.link = undefined;
    const socket = p.socket;
    p.socket = null;
    if (!socket) return;
    if (closing) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    if (p.started) this._listeners.emit("clientDisconnected", socket);
  }
}
