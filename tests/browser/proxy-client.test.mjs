// workbus's WebSocketProxyClient in a Chromium page, linked to workbus's WebSocketProxyServer
// hosted by this Node process (the `ws` package's server on 127.0.0.1), one runner per
// connection as in Pipecat's remote-proxy examples: a job from the page to the server's worker,
// and one from the server's worker to the page's, both with streams.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer } from "ws";
import { WebSocketProxyServer, Worker, WorkerRunner } from "workbus";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const env = useServerAndBrowser();
let wss;
const sessions = [];

/** The server's side of one connection: the proxy "gateway" and the served worker "assistant". */
async function serveConnection(socket) {
  const runner = new WorkerRunner({ name: `server-${sessions.length + 1}` });
  const proxy = new WebSocketProxyServer("gateway", { websocket: socket, workerName: "assistant", remoteWorkerName: "acme" });
  const assistant = new Worker("assistant").onJob("analyze", async (job) => {
    const words = String(job.payload.text).split(" ");
    await job.update({ percent: 50 });
    await job.streamStart({ words: words.length });
    for (const word of words) await job.streamData({ word });
    await job.streamEnd({ summary: words.join(" ").toUpperCase(), runner: runner.name });
  });
  const session = { runner, proxy, assistant, disconnected: new Promise((resolve) => proxy.once("clientDisconnected", resolve)) };
  proxy.on("clientDisconnected", () => runner.cancel());
  sessions.push(session);
  await runner.addWorkers(proxy, assistant);
  await runner.start();
}

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket) => serveConnection(socket));
  await new Promise((resolve) => wss.once("listening", resolve));
});

after(async () => {
  for (const s of sessions) await s.runner.cancel();
  await new Promise((resolve) => wss.close(resolve));
});

test("a page's WebSocketProxyClient and a Node WebSocketProxyServer: jobs with streams both ways", T, async () => {
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const opened = await openPage(env.browser.context, `${env.server.origin}/proxy-client.html?ws=${encodeURIComponent(url)}`);
  const { page } = opened;
  const session = sessions.at(-1);
  // The server announced its worker, with its runner, to the page.
  assert.equal(await page.evaluate(() => window.assistantRunner), session.runner.name);

  // Page → server: the served worker's updates and stream cross the socket in order.
  assert.deepEqual(await page.evaluate(() => window.ask("analyze", { text: "from the page" })), {
    events: [
      { type: "update", data: { percent: 50 } },
      { type: "stream_start", data: { words: 3 } },
      { type: "stream_data", data: { word: "from" } },
      { type: "stream_data", data: { word: "the" } },
      { type: "stream_data", data: { word: "page" } },
      { type: "stream_end", data: { summary: "FROM THE PAGE", runner: session.runner.name } },
    ],
    response: { summary: "FROM THE PAGE", runner: session.runner.name },
  });

  // Server → page: Pipecat's server never learns the client's workers, so a job waits for the
  // page's worker in vain, until the application registers it.
  await assert.rejects(session.assistant.job("acme", { name: "shout", payload: { text: "unknown" }, timeout: 300 }), (e) => e.reason === "workers not ready within timeout");
  await session.runner.registry.register({ workerName: "acme", runner: "page" });
  const job = session.assistant.job("acme", { name: "shout", payload: { text: "to the page" }, timeout: 10_000 });
  const events = [];
  for await (const event of job) events.push(event);
  assert.deepEqual(events, [
    { type: "update", data: { words: 3 } },
    { type: "stream_start", data: { from: "page" } },
    { type: "stream_data", data: { word: "TO" } },
    { type: "stream_data", data: { word: "THE" } },
    { type: "stream_data", data: { word: "PAGE" } },
    { type: "stream_end", data: { shouted: "TO THE PAGE", by: "chromium" } },
  ]);
  assert.deepEqual(await job, { shouted: "TO THE PAGE", by: "chromium" });

  // The page's runner ends: the socket closes and the server's runner with it.
  await page.evaluate(() => window.end());
  await session.disconnected;
  await session.runner.finished;
  assertNoErrors(opened);
  await page.close();
});
