// Run by node-versions.test.mjs as a process of its own (not a test file): spawns
// realm.worker.mjs, runs one job there, and prints what it learned as JSON.
import { WorkerRunner, spawnWorker } from "workbus";

const runner = new WorkerRunner();
await runner.start({ autoEnd: false });
const realm = await spawnWorker(runner, new URL("./realm.worker.mjs", import.meta.url));
const answer = await runner.job("who-1", { timeout: 5000 });
console.log(JSON.stringify({ getBuiltinModule: typeof process.getBuiltinModule, workers: realm.workers.length, worker: answer.worker, inThread: answer.threadId > 0 }));
await runner.cancel();
