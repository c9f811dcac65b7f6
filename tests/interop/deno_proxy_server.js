// WebSocketProxyServer natively in Deno: Deno.serve upgrades each request with
// Deno.upgradeWebSocket and hands the socket to a proxy serving "assistant" to the client's
// "acme", on a runner of its own (as py_proxy_app.py does in Python). Prints
// {"event":"listening","port"} once serving.
//   deno run --allow-net --allow-read --allow-env tests/interop/deno_proxy_server.js
import { WebSocketProxyServer, Worker, WorkerRunner } from "../../pkg/deno/index.js";

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(JSON.stringify({ event: "listening", port })) }, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  const runner = new WorkerRunner({ name: "runner-deno" });
  const proxy = new WebSocketProxyServer("gateway", { websocket: socket, workerName: "assistant", remoteWorkerName: "acme" });
  proxy.on("clientDisconnected", () => runner.cancel());
  const assistant = new Worker("assistant").onJob("summarize", (job) => ({ summary: job.payload.text.split(" ").slice(0, 3).join(" "), runtime: "deno" }));
  // Started before the socket opens (it does once the response is sent): the proxy waits for it.
  runner.addWorkers(proxy, assistant).then(() => runner.start());
  return response;
});
await server.finished;
