// The worker-thread script of the BroadcastChannelBus test in realms.test.mjs (a worker script,
// not a test file): a runner on a BroadcastChannelBus, with no link to the main thread but the
// channel. workerData: { channel, n }.
//   bc-<n>      answers who it is (its thread) and the payload
//   relay-<n>   requests a job from payload.to with payload.payload, and answers with it
import { isMainThread, threadId, workerData } from "node:worker_threads";
import { BroadcastChannelBus, Worker, WorkerRunner } from "workbus";

if (isMainThread) throw new Error("realm-bc.worker.mjs runs in a worker thread");

const { channel, n } = workerData;

const who = new Worker(`bc-${n}`).onJob((job) => ({ worker: `bc-${n}`, threadId, source: job.source, payload: job.payload }));
const relay = new Worker(`relay-${n}`);
relay.onJob(async (job) => ({
  via: relay.name,
  answer: await relay.job(job.payload.to, { payload: job.payload.payload, timeout: 3000 }),
}));

const runner = new WorkerRunner({ name: `bc-runner-${n}`, bus: new BroadcastChannelBus(channel) });
await runner.addWorkers(who, relay);
await runner.start();
