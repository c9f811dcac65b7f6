// workbus's WebSocketProxyServer in Node (on the `ws` package's server), as Pipecat's remote
// proxy examples use theirs: one runner per connection hosting the proxy "gateway" and the
// served worker "assistant"; clients: workbus's WebSocketProxyClient (Node) and Python
// Pipecat's WebSocketProxyClient (py_proxy_client.py).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketServer } from "ws";
import { WebSocketProxyClient, WebSocketProxyServer, Worker, WorkerRunner } from "workbus";
import { T, analyzeEvents, analyzeResponse, collect, jsWorker, startPython, waitRegistered, waitUntil } from "./helpers.mjs";

let wss;
let url;
const sessions = [];

/** The server's side of one connection (what the README shows). */
async function serveConnection(socket, request) {
  const runner = new WorkerRunner();
  const proxy = new WebSocketProxyServer("gateway", {
    websocket: socket,
    workerName: "assistant",
    remoteWorkerName: "acme",
    forwardMessages: ["BusFrameMessage"],
  });
  const assistant = jsWorker("assistant");
  const session = { runner, proxy, assistant, authorization: request.headers.authorization, seen: [] };
  runner.bus.on("message", (m) => session.seen.push(m));
  proxy.on("clientDisconnected", () => runner.cancel());
  sessions.push(session);
  await runner.addWorkers(proxy, assistant);
  await runner.start();
}

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket, request) => serveConnection(socket, request));
  await new Promise((resolve) => wss.once("listening", resolve));
  url = `ws://127.0.0.1:${wss.address().port}/`;
});

after(async () => {
  for (const s of sessions) await s.runner.cancel();
  await new Promise((resolve) => wss.close(resolve));
});

const textFrame = (text) => ({ __type__: "pipecat.frames.frames.TextFrame", __data__: { text } });

test("workbus client (Node, ws) ↔ workbus server: announcement, jobs with streams, frames both ways", T, async () => {
  const runner = new WorkerRunner({ name: "runner-client" });
  const acme = new Worker("acme");
  const frames = [];
  const proxy = new WebSocketProxyClient("proxy", {
    url,
    remoteWorkerName: "assistant",
    localWorkerName: "acme",
    forwardMessages: ["BusFrameMessage"],
    headers: { authorization: "Bearer s3cret" },
    WebSocket,
  });
  runner.bus.on("message", (m) => m.type === "BusFrameMessage" && m.source === "assistant" && frames.push(m));
  const connected = new Promise((resolve) => proxy.once("connected", resolve));
  await runner.addWorkers(acme, proxy);
  await runner.start();
  await acme.activateWorker("proxy");
  await connected;
  await waitRegistered(runner.registry, ["assistant"]);
  const session = sessions.at(-1);
  assert.deepEqual(runner.registry.get("assistant"), { workerName: "assistant", runner: session.runner.name });
  assert.equal(session.authorization, "Bearer s3cret");

  const { events, response, error } = await collect(acme.job("assistant", { name: "analyze", payload: { text: "workbus serves workbus" }, timeout: 10_000 }));
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents("workbus serves workbus", "assistant"));
  assert.deepEqual(response, analyzeResponse("workbus serves workbus", "assistant"));
  const payload = { bytes: new Uint8Array([7, 8, 9]), text: "ünïcode" };
  assert.deepEqual(await acme.job("assistant", { name: "echo", payload, timeout: 10_000 }), payload);

  await acme.sendBusMessage({ type: "BusFrameMessage", frame: textFrame("up from the client"), direction: "UPSTREAM" });
  await session.assistant.sendBusMessage({ type: "BusFrameMessage", frame: textFrame("down from the server") });
  const arrived = await waitUntil(() => session.seen.find((m) => m.type === "BusFrameMessage" && m.source === "acme"), 5000, "the client's frame");
  await waitUntil(() => frames.length > 0, 5000, "the server's frame");
  assert.deepEqual(arrived.frame, textFrame("up from the client"));
  assert.equal(arrived.direction, "UPSTREAM");
  assert.deepEqual(frames.map((f) => f.frame), [textFrame("down from the server")]);

  const gone = new Promise((resolve) => session.proxy.once("clientDisconnected", resolve));
  await runner.end();
  await gone;
  await session.runner.finished;
});

test("Python Pipecat's WebSocketProxyClient ↔ workbus server: announcement, a streamed job, frames both ways", T, async () => {
  const py = await startPython("py_proxy_client.py", ["--url", url]);
  try {
    const session = sessions.at(-1);
    const registered = await py.waitFor((e) => e.event === "registered" && e.worker === "assistant", 5000, "the announcement");
    assert.equal(registered.runner, session.runner.name);

    const r = await py.request({ cmd: "job", worker: "assistant", name: "analyze", payload: { text: "python asks javascript" }, timeout: 10 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.events, analyzeEvents("python asks javascript", "assistant"));
    assert.deepEqual(r.response, analyzeResponse("python asks javascript", "assistant"));
    assert.deepEqual(session.assistant.requests.at(-1), { id: r.job_id, name: "analyze", source: "acme", payload: { text: "python asks javascript" } });

    py.send({ cmd: "frame", text: "from python" });
    await session.assistant.sendBusMessage({ type: "BusFrameMessage", frame: textFrame("from javascript") });
    const heard = await py.waitFor((e) => e.event === "bus_message" && e.type === "BusFrameMessage" && e.source === "assistant", 5000, "the frame from the server");
    assert.deepEqual([heard.source, heard.fields.frame_type, heard.fields.text], ["assistant", "TextFrame", "from javascript"]);
    const frame = await waitUntil(() => session.seen.find((m) => m.type === "BusFrameMessage" && m.source === "acme"), 5000, "the Python frame");
    assert.equal(frame.frame.__type__, "pipecat.frames.frames.TextFrame");
    assert.equal(frame.frame.__data__.text, "from python");

    const gone = new Promise((resolve) => session.proxy.once("clientDisconnected", resolve));
    await py.stop();
    await gone;
    await session.runner.finished;
  } finally {
    await py.stop();
  }
});
