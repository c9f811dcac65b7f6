// The far side of the Web Worker transport contract (see contract.js): serves the contract's far
// workers to the page; on the BroadcastChannel named by its `control` query parameter it puts a
// malformed message on the link ("malformed") or stops sending anything ("silence").
import init, { Worker, serveWorkers } from "/workbus/index.js";
import { LIVENESS, farWorkers } from "/contract/cases.mjs";

await init();

// Listening before serving: the page may send a command as soon as the workers are announced.
const control = new BroadcastChannel(new URL(self.location.href).searchParams.get("control"));
const serving = serveWorkers(farWorkers(Worker), { name: "far", ...LIVENESS });
control.onmessage = async ({ data }) => {
  const runner = await serving;
  if (data === "malformed") self.postMessage({ type: 42 });
  else if (data === "silence") runner.bus.close();
  control.postMessage(`${data}: done`);
};
