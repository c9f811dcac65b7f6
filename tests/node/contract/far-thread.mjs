// The far side of the worker-thread transport contract: serves the contract's far workers to
// the thread's parent; `workerData.control` (a MessagePort) asks it to put a malformed message on
// the link ("malformed") or to stop sending anything, without a goodbye ("silence").
import { parentPort, workerData } from "node:worker_threads";
import { Worker, serveWorkers } from "workbus";
import { LIVENESS, farWorkers } from "./cases.mjs";

const runner = await serveWorkers(farWorkers(Worker), { name: "far", ...LIVENESS });
workerData.control.on("message", (command) => {
  if (command === "malformed") parentPort.postMessage({ type: 42 });
  else if (command === "silence") runner.bus.close();
  workerData.control.postMessage(`${command}: done`);
});
