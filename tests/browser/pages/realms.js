// The page of realms.test.mjs (served as realms.html): a runner "page" hosting "page-echo" and
// "who-page", linked to two module Web Workers (realm.worker.js) spawned with spawnWorker().
// With ?channel=<name>, its bus is also linked to the BroadcastChannel <name>. The tests drive
// it through window.runner, window.realms and window.workbus (the package's exports).
import init, * as workbus from "workbus";

const { Worker, WorkerRunner, spawnWorker } = workbus;

async function main() {
  await init();
  const runner = new WorkerRunner({ name: "page", heartbeatInterval: 50, heartbeatMisses: 3 });
  const echo = new Worker("page-echo").onJob((job) => ({ from: "page-echo", source: job.source, payload: job.payload }));
  const who = new Worker("who-page").onJob((job) => ({
    worker: "who-page",
    realm: "page",
    inWorker: false,
    source: job.source,
    date: job.payload?.when instanceof Date ? job.payload.when.toISOString() : null,
    map: job.payload?.map instanceof Map ? [...job.payload.map] : null,
  }));
  await runner.addWorkers(echo, who);
  await runner.start();
  const channel = new URLSearchParams(location.search).get("channel");
  if (channel) runner.bus.connectChannel(channel);
  const script = new URL("./realm.worker.js", import.meta.url);
  const realms = await Promise.all(["realm-1", "realm-2"].map((name) => spawnWorker(runner, script, { name })));
  Object.assign(window, { workbus, runner, realms });
}

window.ready = main();
