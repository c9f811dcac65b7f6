// The transport contract (contract/cases.mjs) over each transport Node has: a MessagePort pair,
// a BroadcastChannel, a worker thread. Redis runs it in tests/interop, Web Workers in
// tests/browser.
import { test } from "node:test";
import { once } from "node:events";
import { MessageChannel, Worker as Thread } from "node:worker_threads";
import * as workbus from "workbus";
import { LIVENESS, farWorkers, nearWorkers, realmLink, runContract } from "./contract/cases.mjs";
import { startRunner } from "./helpers.mjs";

const { BroadcastChannelBus, MessagePortBus, Worker, WorkerRunner, spawnWorker } = workbus;
const T = { timeout: 10_000 };

/** The near runner on `nearBus`, cancelled when the test ends. */
const nearRunner = (t, nearBus) => startRunner(t, nearWorkers(Worker), { name: "near", bus: nearBus, ...LIVENESS });

/** Two buses in this thread, each with a runner: the far one hosts the far workers. */
async function inProcessLink(t, nearBus, farBus, injectMalformed) {
  t.after(() => {
    nearBus.close();
    farBus.close();
  });
  await startRunner(t, farWorkers(Worker), { name: "far", bus: farBus, ...LIVENESS });
  return {
    workbus,
    near: await nearRunner(t, nearBus),
    nearBus,
    injectMalformed,
    silenceFar: () => farBus.close(),
    close: () => nearBus.close(),
  };
}

runContract(test, "MessagePort", T, (t) => {
  const { port1, port2 } = new MessageChannel();
  t.after(() => port1.close());
  return inProcessLink(t, new MessagePortBus(port1), new MessagePortBus(port2), () => port2.postMessage({ type: 42 }));
});

let channels = 0;
runContract(test, "BroadcastChannel", T, (t) => {
  const name = `workbus-contract-${process.pid}-${++channels}`;
  return inProcessLink(t, new BroadcastChannelBus(name), new BroadcastChannelBus(name), () => {
    const raw = new BroadcastChannel(name);
    raw.postMessage({ type: 42 });
    raw.close();
  });
});

runContract(test, "worker thread", T, async (t) => {
  const control = new MessageChannel();
  const thread = new Thread(new URL("./contract/far-thread.mjs", import.meta.url), {
    workerData: { control: control.port2 },
    transferList: [control.port2],
  });
  t.after(async () => {
    control.port1.close();
    await thread.terminate();
  });
  const near = new WorkerRunner({ name: "near", ...LIVENESS });
  t.after(() => near.cancel());
  await near.addWorkers(...nearWorkers(Worker));
  await near.start();
  await spawnWorker(near, thread);
  const command = async (what) => {
    control.port1.postMessage(what);
    await once(control.port1, "message");
  };
  return realmLink(workbus, near, command);
});
