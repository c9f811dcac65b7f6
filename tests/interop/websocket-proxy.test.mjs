// Scenario 5: workbus's WebSocketProxyClient against Pipecat's WebSocketProxyServer, served by a
// FastAPI app on loopback (py_proxy_app.py): from a page in headless Chromium, and from Node
// with the `ws` package.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { WebSocket } from "ws";
import { JobError, WebSocketProxyClient, Worker, WorkerRunner } from "workbus";
import { assertNoErrors, launchBrowser, openPage } from "../browser/harness.mjs";
import { T, analyzeEvents, analyzeResponse, collect, here, root, startPython, waitRegistered } from "./helpers.mjs";

let app;
let wsUrl;
let server;
let origin;
let browser;

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".map": "application/json" };

/** Serves /workbus/... from pkg/web and everything else from tests/interop/pages. */
async function startStatic() {
  const bases = { workbus: join(root, "pkg", "web"), pages: join(here, "pages") };
  const s = createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://localhost");
    const [base, rel] = pathname.startsWith("/workbus/") ? [bases.workbus, pathname.slice(9)] : [bases.pages, pathname.slice(1)];
    const file = normalize(join(base, decodeURIComponent(rel)));
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(pathname === "/favicon.ico" ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(readFileSync(file));
  });
  await new Promise((ok) => s.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${s.address().port}`,
    close: () => new Promise((ok) => (s.closeAllConnections(), s.close(() => ok()))),
  };
}

before(async () => {
  app = await startPython("py_proxy_app.py", ["--port", "0"], { readyWhen: (e) => e.event === "listening" });
  wsUrl = `ws://127.0.0.1:${app.events.find((e) => e.event === "listening").port}/ws`;
});

after(async () => {
  await browser?.close();
  await server?.close();
  await app?.stop();
});

/** A runner with "acme" and a proxy client; resolves once the proxy is connected. */
async function clientSession(options = {}) {
  const runner = new WorkerRunner({ name: options.name ?? "runner-client" });
  const acme = new Worker("acme");
  const proxy = new WebSocketProxyClient("proxy", {
    url: wsUrl,
    remoteWorkerName: "assistant",
    localWorkerName: "acme",
    WebSocket,
    ...options.proxy,
  });
  const connected = new Promise((resolve) => proxy.once("connected", resolve));
  await runner.addWorkers(acme, proxy);
  await runner.start();
  if (!options.proxy?.active) await acme.activateWorker("proxy");
  await connected;
  return { runner, acme, proxy };
}

test("Node (ws): a job with updates and a stream on a Python worker through the proxy", T, async () => {
  const before = app.events.length;
  const { runner, acme, proxy } = await clientSession({ proxy: { headers: { authorization: "Bearer s3cret" } } });
  const hello = await app.waitFor((e, i = app.events.indexOf(e)) => e.event === "client_connected" && i >= before, 5000, "client_connected");
  assert.equal(hello.authorization, "Bearer s3cret");
  // The server announced its worker: registered as a remote worker of the server's runner.
  await waitRegistered(runner.registry, ["assistant"]);
  assert.deepEqual(runner.registry.get("assistant"), { workerName: "assistant", runner: hello.runner });
  assert.equal(proxy.connected, true);

  const { events, response, error } = await collect(acme.job("assistant", { name: "analyze", payload: { text: "node over websocket" }, timeout: 10_000 }));
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents("node over websocket", "assistant"));
  assert.deepEqual(response, analyzeResponse("node over websocket", "assistant"));

  const payload = { text: "ünïcode ✓", bytes: new Uint8Array([5, 6]), nested: { a: [null, 1] } };
  assert.deepEqual(await acme.job("assistant", { name: "echo", payload, timeout: 10_000 }), payload);

  const disconnected = new Promise((resolve) => proxy.once("disconnected", resolve));
  await runner.end();
  await disconnected;
  await app.waitFor((e, i = app.events.indexOf(e)) => e.event === "session_finished" && i >= before, 5000, "session_finished");
});

test("Node (ws): timeout, cancel and failure through the proxy keep Pipecat's reasons", T, async () => {
  const before = app.events.length;
  const { runner, acme } = await clientSession({ proxy: { active: true } });
  const timed = acme.job("assistant", { name: "slow", payload: { seconds: 30 }, timeout: 300 });
  await assert.rejects(timed, (e) => e instanceof JobError && e.reason === "timeout");
  const c1 = await app.waitFor((e) => e.event === "job_cancelled" && e.job_id === timed.jobId, 5000, "the server-side cancel");
  assert.deepEqual([c1.worker, c1.reason, c1.source], ["assistant", "timeout", "acme"]);

  const cancelled = acme.job("assistant", { name: "slow", payload: { seconds: 30 }, timeout: 10_000 });
  const jobId = await cancelled.started;
  await app.waitFor((e) => e.event === "job_started" && e.job_id === jobId, 5000, "the server-side start");
  await cancelled.cancel("closed the tab");
  await assert.rejects(cancelled, (e) => e.reason === "closed the tab");
  assert.equal((await app.waitFor((e) => e.event === "job_cancelled" && e.job_id === cancelled.jobId, 5000)).reason, "closed the tab");

  await assert.rejects(acme.job("assistant", { name: "error", timeout: 10_000 }), (e) => {
    assert.deepEqual([e.reason, e.status, e.response], ["worker 'assistant' errored", "error", { error: "unexpected" }]);
    return true;
  });
  await runner.end();
  await app.waitFor((e, i = app.events.indexOf(e)) => e.event === "client_disconnected" && i >= before, 5000, "client_disconnected");
});

test("Chromium: a page runs a job on a Python worker through the Python WebSocketProxyServer", { timeout: 60_000 }, async () => {
  server = await startStatic();
  browser = await launchBrowser();
  const opened = await openPage(browser.context, `${server.origin}/proxy.html?ws=${encodeURIComponent(wsUrl)}`);
  const result = await opened.page.evaluate(() => window.result);
  assert.deepEqual(result.events, analyzeEvents("hello from chromium", "assistant"));
  assert.deepEqual(result.response, analyzeResponse("hello from chromium", "assistant"));
  assert.deepEqual(result.bytes, { type: "bytes", length: 3, reversed: [3, 2, 1] });
  assert.deepEqual(result.timeout, { isJobError: true, reason: "timeout" });
  assert.deepEqual(result.failed, { reason: "worker 'assistant' errored", status: "failed", response: { error: "bad input" } });
  assert.equal(result.registry.workerName, "assistant");
  assert.equal(result.connected, true);
  assertNoErrors(opened);
  await opened.page.close();
});
