// A second Node process for node-peers.test.mjs: a workbus runner on a RedisBus over an ioredis
// client (the test process uses node-redis), hosting "<prefix>-worker" (the job names of
// helpers.mjs's jsWorker) and "<prefix>-requester", driven over the IPC channel:
//   → {id, cmd: "job"|"group", worker|workers, name?, payload?, timeout?, cancelAfter?, cancelReason?}
//   ← {id, ok: true, events, response|responses, jobId} | {id, ok: false, events, error: {name, reason, status, workerName, response}, jobId}
//   → {id, cmd: "state"}  ← {id, remoteWorkers, cancelled: [{jobId, reason, source}], requests: [...]}
//   → {id, cmd: "end"}    ends the runner, closes the bus and the client, exits
//   → {id, cmd: "cancelSession", reason}   the worker's cancelSession()
// Sends {event: "ready"} once started and {event: "finished"} when its runner finishes. Exits
// when the parent goes away.
import { Redis } from "ioredis";
import { RedisBus, Worker, WorkerRunner } from "workbus";
import { collect, jsWorker } from "./helpers.mjs";

const [url, prefix = "peer"] = process.argv.slice(2);
const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
client.on("error", () => {});
const bus = new RedisBus({ client });
await bus.ready;
const worker = jsWorker(`${prefix}-worker`);
const requester = new Worker(`${prefix}-requester`);
const runner = new WorkerRunner({ name: `runner-${prefix}`, bus });
await runner.addWorkers(worker, requester);
await runner.start();

const exit = async (code = 0) => {
  await bus.close().catch(() => {});
  client.disconnect();
  process.exit(code);
};
runner.finished.then(() => process.send?.({ event: "finished" }));
process.on("disconnect", () => process.exit(0));

const plain = (error) => ({
  name: error?.name,
  reason: error?.reason ?? error?.message,
  status: error?.status,
  workerName: error?.workerName,
  response: error?.response,
});

process.on("message", async (msg) => {
  const { id, cmd } = msg;
  if (cmd === "job" || cmd === "group") {
    const params = { name: msg.name, payload: msg.payload, timeout: msg.timeout };
    const ctx = cmd === "job" ? requester.job(msg.worker, params) : requester.jobGroup(msg.workers, params);
    if (msg.cancelAfter !== undefined) setTimeout(() => ctx.cancel(msg.cancelReason), msg.cancelAfter);
    const { events, response, error } = await collect(ctx);
    const key = cmd === "job" ? "response" : "responses";
    process.send(error ? { id, ok: false, events, error: plain(error), jobId: ctx.jobId } : { id, ok: true, events, [key]: response, jobId: ctx.jobId });
  } else if (cmd === "state") {
    process.send({
      id,
      remoteWorkers: runner.registry.remoteWorkers,
      cancelled: worker.cancelled.map((m) => ({ jobId: m.jobId, reason: m.reason, source: m.source })),
      requests: worker.requests,
    });
  } else if (cmd === "cancelSession") {
    await requester.cancelSession({ reason: msg.reason });
    process.send({ id });
  } else if (cmd === "end") {
    await runner.end();
    process.send({ id });
    await exit(0);
  }
});

process.send({ event: "ready", runner: runner.name });
