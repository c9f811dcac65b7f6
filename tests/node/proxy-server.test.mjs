// WebSocketProxyServer on an accepted standard WebSocket (a stand-in here; the real ones, `ws`
// and Python's client proxy, are in tests/interop): Pipecat's announcement and filters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketProxyServer, Worker, setLogger } from "workbus";
import { T, startRunner, waitFor, record, catchSync } from "./helpers.mjs";

/** An accepted socket: what the proxy sends, as Pipecat envelopes; `receive` plays the client. */
class AcceptedSocket extends EventTarget {
  constructor() {
    super();
    this.readyState = 1;
    this.sent = [];
    this.binary = true;
  }
  send(data) {
    if (!(data instanceof Uint8Array)) this.binary = false;
    this.sent.push(JSON.parse(new TextDecoder().decode(data)));
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(new Event("close"));
  }
  receive(type, data, asText = false) {
    const text = JSON.stringify({ __type__: `pipecat.bus.messages.${type}`, __data__: data });
    this.dispatchEvent(new MessageEvent("message", { data: asText ? text : new TextEncoder().encode(text).buffer }));
  }
  types() {
    return this.sent.map((m) => `${m.__type__.split(".").pop()} ${m.__data__.source}->${m.__data__.target ?? "*"}`);
  }
}

async function serve(t, options = {}) {
  const socket = new AcceptedSocket();
  const proxy = new WebSocketProxyServer("gateway", { websocket: socket, workerName: "assistant", remoteWorkerName: "acme", ...options });
  const assistant = new Worker("assistant").onJob((job) => ({ echoed: job.payload }));
  const events = [];
  proxy.on("clientConnected", (ws) => events.push(["connected", ws === socket]));
  proxy.on("clientDisconnected", (ws) => events.push(["disconnected", ws === socket]));
  const runner = await startRunner(t, [proxy, assistant]);
  return { socket, proxy, assistant, runner, events };
}

test("it announces its worker to the client, then runs the client's jobs on it", T, async (t) => {
  const { socket, proxy, runner, events } = await serve(t);
  await waitFor(() => socket.sent.length === 1, { what: "the announcement" });
  assert.deepEqual(socket.sent[0], {
    __type__: "pipecat.bus.messages.BusWorkerRegistryMessage",
    __data__: {
      ...socket.sent[0].__data__,
      source: "gateway",
      runner: runner.name,
      workers: [{ __type__: "pipecat.registry.types.WorkerRegistryEntry", __data__: { name: "assistant", active: false, bridged: false } }],
    },
  });
  assert.deepEqual(events, [["connected", true]]);
  assert.equal(proxy.connected, true);

  socket.receive("BusJobRequestMessage", { source: "acme", target: "assistant", job_id: "j-1", payload: { n: 1 } });
  await waitFor(() => socket.sent.length === 2, { what: "the response" });
  const response = socket.sent[1];
  assert.equal(response.__type__, "pipecat.bus.messages.BusJobResponseMessage");
  assert.deepEqual([response.__data__.source, response.__data__.target, response.__data__.job_id, response.__data__.status], ["assistant", "acme", "j-1", "completed"]);
  assert.deepEqual(response.__data__.response, { echoed: { n: 1 } });
  assert.equal(socket.binary, true, "the server sends binary frames");
});

test("out: only its worker's messages, for the remote worker or of a forwarded type", T, async (t) => {
  const { socket, assistant, runner } = await serve(t, { forwardMessages: ["BusFrameMessage"] });
  const bystander = new Worker("bystander");
  await runner.addWorkers(bystander);
  await waitFor(() => socket.sent.length === 1, { what: "the announcement" });
  const frame = { __type__: "pipecat.frames.frames.TextFrame", __data__: { text: "x" } };
  await assistant.sendBusMessage({ type: "BusTTSSpeakMessage", target: "elsewhere", text: "not for the client" });
  await assistant.sendBusMessage({ type: "BusDataMessage" });
  await bystander.sendBusMessage({ type: "BusFrameMessage", frame });
  await bystander.sendBusMessage({ type: "BusTTSSpeakMessage", target: "acme", text: "not from the served worker" });
  await assistant.sendBusMessage({ type: "BusTTSSpeakMessage", target: "acme", text: "for the client" });
  await assistant.sendBusMessage({ type: "BusFrameMessage", frame });
  await waitFor(() => socket.sent.length === 3, { what: "two messages out" });
  assert.deepEqual(socket.types().slice(1), ["BusTTSSpeakMessage assistant->acme", "BusFrameMessage assistant->*"]);
  assert.equal(socket.sent[1].__data__.text, "for the client");
});

test("in: messages for its worker or of a forwarded type; anything else is dropped with a warning", T, async (t) => {
  const warnings = [];
  setLogger((level, message) => level === "warn" && warnings.push(message));
  t.after(() => setLogger(null));
  const { socket, assistant, runner } = await serve(t, { forwardMessages: ["BusFrameMessage"] });
  const other = new Worker("other");
  await runner.addWorkers(other);
  const seen = record(assistant, "busMessage");
  const otherSeen = record(other, "busMessage");
  socket.receive("BusTTSSpeakMessage", { source: "acme", target: "other", text: "no" });
  socket.receive("BusWorkerRegistryMessage", { source: "client-runner", runner: "client-runner", workers: [{ __type__: "pipecat.registry.types.WorkerRegistryEntry", __data__: { name: "intruder" } }] });
  socket.receive("BusFrameMessage", { source: "acme", target: "other", frame: { __type__: "pipecat.frames.frames.TextFrame", __data__: {} } });
  socket.receive("BusTTSSpeakMessage", { source: "acme", target: "assistant", text: "yes" }, true);
  await waitFor(() => seen.some((m) => m.type === "BusTTSSpeakMessage"), { what: "the message for the worker" });
  assert.equal(seen.find((m) => m.type === "BusTTSSpeakMessage").text, "yes");
  assert.equal(otherSeen.some((m) => m.type === "BusTTSSpeakMessage"), false);
  const observed = record(runner.bus, "message");
  socket.receive("BusFrameMessage", { source: "acme", target: "other", frame: { __type__: "pipecat.frames.frames.TextFrame", __data__: {} } });
  await waitFor(() => observed.some((m) => m.type === "BusFrameMessage"), { what: "the forwarded frame" });
  assert.equal(runner.registry.get("intruder"), undefined, "the client's registry snapshot is dropped, as in Pipecat");
  assert.ok(warnings.some((w) => w === "WebSocketProxyServer 'gateway' dropped BusTTSSpeakMessage for 'other'"), warnings.join("\n"));
  assert.ok(warnings.some((w) => w === "WebSocketProxyServer 'gateway' dropped BusWorkerRegistryMessage for 'null'"), warnings.join("\n"));
});

test("the client leaving ends forwarding; stopping the proxy closes the socket", T, async (t) => {
  const first = await serve(t);
  await waitFor(() => first.socket.sent.length === 1, { what: "the announcement" });
  first.socket.close();
  assert.deepEqual(first.events, [["connected", true], ["disconnected", true]]);
  assert.equal(first.proxy.connected, false);
  await first.assistant.sendBusMessage({ type: "BusTTSSpeakMessage", target: "acme", text: "gone" });
  assert.equal(first.socket.sent.length, 1);

  const second = await serve(t);
  await second.proxy.stop();
  assert.equal(second.socket.readyState, 3);
  assert.deepEqual(second.events, [["connected", true], ["disconnected", true]]);
});

test("a socket that is still opening (Deno's upgraded one) is served once it opens", T, async (t) => {
  const socket = new AcceptedSocket();
  socket.readyState = 0;
  socket.send = () => {
    throw new Error("InvalidStateError: the socket is not open");
  };
  const proxy = new WebSocketProxyServer("gateway", { websocket: socket, workerName: "assistant", remoteWorkerName: "acme" });
  const connected = [];
  proxy.on("clientConnected", () => connected.push(socket.readyState));
  await startRunner(t, [proxy, new Worker("assistant")]);
  socket.receive("BusDataMessage", { source: "acme", target: "assistant" });
  assert.deepEqual(connected, []);
  delete socket.send;
  socket.readyState = 1;
  socket.dispatchEvent(new Event("open"));
  await waitFor(() => socket.sent.length === 1, { what: "the announcement once open" });
  assert.equal(socket.sent[0].__type__, "pipecat.bus.messages.BusWorkerRegistryMessage");
  assert.deepEqual(connected, [1]);
  assert.equal(proxy.connected, true);
});

test("bad options are TypeErrors naming the option", T, () => {
  const socket = new AcceptedSocket();
  const cases = [
    [{ workerName: "a", remoteWorkerName: "b" }, "options.websocket must be an accepted WebSocket (with send and addEventListener), got undefined"],
    [{ websocket: {}, workerName: "a", remoteWorkerName: "b" }, /^options\.websocket must be an accepted WebSocket/],
    [{ websocket: socket, remoteWorkerName: "b" }, "options.workerName must be a string, got undefined"],
    [{ websocket: socket, workerName: "a", remoteWorkerName: 3 }, "options.remoteWorkerName must be a string, got the number 3"],
    [{ websocket: socket, workerName: "a", remoteWorkerName: "b", forwardMessages: "BusFrameMessage" }, /^options\.forwardMessages must be an array/],
  ];
  for (const [options, message] of cases) {
    const error = catchSync(() => new WebSocketProxyServer("gateway", options));
    assert.ok(error instanceof TypeError, String(error));
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
  }
});
