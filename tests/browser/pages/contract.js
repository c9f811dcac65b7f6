// The transport contract (tests/node/contract/cases.mjs, served as /contract/cases.mjs) over a
// module Web Worker: `runCase(i)` runs case i on a fresh link (a page runner and a Web Worker
// started with spawnWorker, serving the far workers) and resolves with { ok } or { error }.
// The worker takes commands ("malformed", "silence") on a BroadcastChannel named in its URL.
import init, * as workbus from "workbus";
import { LIVENESS, contractCases, nearWorkers, realmLink } from "/contract/cases.mjs";

await init();

let links = 0;
window.runCase = async (i) => {
  const id = ++links;
  const near = new workbus.WorkerRunner({ name: "near", ...LIVENESS });
  await near.addWorkers(...nearWorkers(workbus.Worker));
  await near.start();
  const controlName = `contract-control-${id}`;
  const control = new BroadcastChannel(controlName);
  const realm = await workbus.spawnWorker(near, new Worker(`/contract.worker.js?control=${controlName}`, { type: "module", name: "far" }));
  const command = (what) =>
    new Promise((resolve) => {
      control.onmessage = () => resolve();
      control.postMessage(what);
    });
  try {
    await contractCases[i].run(realmLink(workbus, near, command));
    return { ok: true };
  } catch (error) {
    return { error: String(error?.stack ?? error) };
  } finally {
    control.close();
    await realm.terminate();
    await near.cancel();
  }
};
window.caseNames = contractCases.map((c) => c.name);
window.ready = Promise.resolve();
