// The worker-thread side of bench/crossrealm-node.mjs; workerData.impl picks the protocol.
import { parentPort, workerData } from "node:worker_threads";

const { impl, workbusEntry } = workerData;
if (impl === "raw") {
  // Echo every message back: the floor of a cross-realm round trip (two structured clones).
  parentPort.on("message", (msg) => parentPort.postMessage({ id: msg.id, response: msg.payload }));
} else if (impl === "comlink") {
  const Comlink = await import("comlink");
  const nodeEndpoint = (await import("comlink/dist/esm/node-adapter.mjs")).default;
  Comlink.expose({ echo: (payload) => payload }, nodeEndpoint(parentPort));
} else if (impl === "workbus") {
  // >>> workbus cross-realm slot: a worker hosted in this thread, served to the main thread.
  const { Worker, serveWorkers } = await import(workbusEntry || "workbus");
  await serveWorkers([new Worker("echo").onJob("echo", (job) => job.payload)]);
  // <<<
}
