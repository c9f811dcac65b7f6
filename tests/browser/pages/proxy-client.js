// The page of proxy-client.test.mjs (served as proxy-client.html?ws=<the test's WebSocket URL>):
// a runner with the worker "acme" and a WebSocketProxyClient linking it to the worker
// "assistant" behind the test process's WebSocketProxyServer.
import init, { Worker, WorkerRunner } from "workbus";
import { WebSocketProxyClient } from "workbus/websocket";

/** Runs a job and collects its events and outcome (an error becomes its reason and status). */
async function collect(ctx) {
  const events = [];
  try {
    for await (const event of ctx) events.push(event);
    return { events, response: await ctx };
  } catch (error) {
    return { events, error: { name: error.name, reason: error.reason, status: error.status } };
  }
}

window.ready = (async () => {
  await init();
  const runner = new WorkerRunner({ name: "page" });
  // The server's jobs for the page: an update, then the words as a stream.
  const acme = new Worker("acme").onJob("shout", async (job) => {
    const words = String(job.payload.text).split(" ");
    await job.update({ words: words.length });
    await job.streamStart({ from: "page" });
    for (const word of words) await job.streamData({ word: word.toUpperCase() });
    await job.streamEnd({ shouted: words.join(" ").toUpperCase(), by: navigator.userAgent.includes("Chrome") ? "chromium" : "other" });
  });
  const proxy = new WebSocketProxyClient("proxy", {
    url: new URL(location.href).searchParams.get("ws"),
    remoteWorkerName: "assistant",
    localWorkerName: "acme",
  });
  const connected = new Promise((resolve) => proxy.once("connected", resolve));
  await runner.addWorkers(acme, proxy);
  await runner.start();
  await acme.activateWorker("proxy");
  await connected;
  // The server's announcement registers its worker here.
  await new Promise((resolve) => runner.registry.watch("assistant", resolve));
  window.assistantRunner = runner.registry.get("assistant").runner;
  window.ask = (name, payload) => collect(acme.job("assistant", { name, payload, timeout: 10_000 }));
  window.end = () => runner.end();
})();
