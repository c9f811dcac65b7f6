// The page of pools.test.mjs (served as pools.html): a runner "page" and a pool of 4 module Web
// Workers (pool.worker.js) spawned with spawnWorker(runner, script, { instances: 4 }). Liveness:
// heartbeat every 50 ms, gone after 3 misses. The tests drive it through window.runner,
// window.pool and window.workbus (the package's exports).
import init, * as workbus from "workbus";

const { WorkerRunner, spawnWorker } = workbus;

async function main() {
  await init();
  const runner = new WorkerRunner({ name: "page", heartbeatInterval: 50, heartbeatMisses: 3 });
  await runner.start();
  const pool = await spawnWorker(runner, new URL("./pool.worker.js", import.meta.url), { instances: 4, name: "cpu" });
  /** Every cpu run of instance `i` (0-based), from its stats worker. */
  const runsOf = (i) => runner.job(`stats-cpu-${i + 1}`, { name: "runs", timeout: 5000 });
  /** Every cpu run of each instance: { [runner]: [{ jobId, attempt, n }] }. */
  const runsByInstance = async () => Object.fromEntries(await Promise.all(pool.instances.map(async (realm, i) => [realm.runner, await runsOf(i)])));
  Object.assign(window, { workbus, runner, pool, runsOf, runsByInstance });
}

window.ready = main();
