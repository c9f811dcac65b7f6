// The page of websocket-proxy.test.mjs: a workbus runner with a requester "acme" and a
// WebSocketProxyClient to the Python WebSocketProxyServer whose URL is in ?ws=, activated the
// way Pipecat's client proxy is (activateWorker), then jobs on the Python worker "assistant".
import init, { JobError, Worker, WorkerRunner } from "workbus";
import { WebSocketProxyClient } from "workbus/websocket";

window.ready = (async () => {
  await init();
  const url = new URLSearchParams(location.search).get("ws");
  const runner = new WorkerRunner({ name: "page" });
  const acme = new Worker("acme");
  const proxy = new WebSocketProxyClient("proxy", { url, remoteWorkerName: "assistant", localWorkerName: "acme" });
  const connected = new Promise((resolve) => proxy.once("connected", resolve));
  await runner.addWorkers(acme, proxy);
  await runner.start();
  await acme.activateWorker("proxy");
  await connected;

  const ctx = acme.job("assistant", { name: "analyze", payload: { text: "hello from chromium" }, timeout: 10_000 });
  const events = [];
  for await (const event of ctx) events.push(event);
  const response = await ctx;

  const bytes = await acme.job("assistant", { name: "bytes", payload: { data: new Uint8Array([1, 2, 3]) }, timeout: 10_000 });

  let timeout = null;
  try {
    await acme.job("assistant", { name: "slow", payload: { seconds: 30 }, timeout: 300 });
  } catch (e) {
    timeout = { isJobError: e instanceof JobError, reason: e.reason };
  }
  let failed = null;
  try {
    await acme.job("assistant", { name: "fail", timeout: 10_000 });
  } catch (e) {
    failed = { reason: e.reason, status: e.status, response: e.response };
  }

  window.result = {
    events,
    response,
    bytes: { ...bytes, reversed: Array.from(bytes.reversed) },
    timeout,
    failed,
    registry: runner.registry.get("assistant") ?? null,
    connected: proxy.connected,
  };
  const disconnected = new Promise((resolve) => proxy.once("disconnected", resolve));
  await runner.end();
  await disconnected;
})();
