// A Python Pipecat runner restarted in the middle of a pgmq session with a workbus runner.
// Pipecat's PgmqBus gives every bus instance a queue of its own (a fresh random name on each
// start) and drops it on stop, so what a runner has acknowledged is what its reader delivered
// and deleted from that queue; a restarted runner is a new peer on a new queue, and what was sent
// while it was down is not delivered to it (docs/decisions.md, "PgmqBus and restarts").
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner } from "workbus";
import { PY_WORKERS, analyzeEvents, analyzeResponse, collect, jsWorker, pyRegistered, startPgmqJsSession, startPySession, waitRegistered, waitUntil } from "./helpers.mjs";
import { startPostgres } from "./postgres.mjs";

let postgres;
let session;
let pool;
let bus;
let runner;
const pys = [];
const worker = jsWorker("js-worker");
const requester = new Worker("js-requester");

before(async () => {
  postgres = await startPostgres();
  // Liveness is left out of this session (a long interval): Pipecat's runners send no heartbeats,
  // and the restarts here are about what the queues deliver.
  session = await startPgmqJsSession(postgres.url, { workers: [worker, requester], heartbeatInterval: 60_000 });
  ({ pool, bus, runner } = session);
});

after(async () => {
  for (const py of pys) await py.stop();
  await session?.close();
  await postgres?.stop();
});

/** The channel's queues other than the JS bus's own. */
async function pythonQueues() {
  const rows = (await pool.query("SELECT queue_name FROM pgmq.list_queues()")).rows;
  return rows.map((r) => r.queue_name).filter((q) => q.startsWith("pipecat_bus_") && q !== bus.queue);
}

const queueLength = async (queue) => Number((await pool.query("SELECT queue_length FROM pgmq.metrics($1)", [queue])).rows[0].queue_length);

/**
 * Starts a Python session as the runner `runnerName`, once it and the JS runner have registered
 * each other's workers; resolves with it and its bus's queue (the one not in `known`).
 */
async function startPython(runnerName, known) {
  const py = await startPySession(postgres.url, { runner: runnerName, watch: ["js-worker"] });
  pys.push(py);
  // The JS runner answers a new runner's snapshot after registering its workers.
  await pyRegistered(py, "js-worker");
  await waitRegistered(runner.registry, PY_WORKERS);
  const [queue] = await waitUntil(async () => {
    const fresh = (await pythonQueues()).filter((q) => !known.includes(q));
    return fresh.length === 1 && fresh;
  }, 5_000, "the Python bus's queue");
  return { py, queue };
}

/**
 * A job each way between `py` and the JS runner, with a stream: every event in order to the JS
 * requester; to Python the response (Pipecat's reader delivers a batch in pgmq.read's order,
 * which is not always the order it was sent in: docs/decisions.md).
 */
async function roundTrip(py, text) {
  const { events, response, error } = await collect(requester.job("py-worker", { name: "analyze", payload: { text }, timeout: 10_000 }));
  assert.equal(error, undefined);
  assert.deepEqual(events, analyzeEvents(text, "py-worker"));
  assert.deepEqual(response, analyzeResponse(text, "py-worker"));
  const r = await py.request({ cmd: "job", worker: "js-worker", name: "analyze", payload: { text }, timeout: 10 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.response, analyzeResponse(text, "js-worker"));
}

/** Broadcasts a UI event named `name` from the JS side to every Python worker. */
const broadcast = (name) => requester.sendBusMessage({ type: "BusUIEventMessage", eventName: name, payload: { name } });
const uiEvents = (py) => py.events.filter((e) => e.event === "bus_message" && e.type === "BusUIEventMessage" && e.worker === "py-worker").map((e) => e.fields.event_name);

// A restarted process is a new runner: Pipecat's default runner name is random, and Pipecat does
// not answer the snapshot of a runner name it has seen already.
test("a Python runner restarted mid-session: each run answers on a queue of its own; what was sent while it was down is not delivered", { timeout: 60_000 }, async () => {
  // First run: jobs cross both ways, and every message is acknowledged (deleted from its queue).
  const first = await startPython("runner-py-1", []);
  await roundTrip(first.py, "before the restart");
  await broadcast("first run");
  await first.py.waitFor((e) => e.event === "bus_message" && e.fields?.event_name === "first run", 10_000, "the first run's event");
  await waitUntil(async () => (await queueLength(first.queue)) === 0, 5_000, "the first run's queue to be drained");

  // A clean stop leaves the channel: the Python bus drops its queue, as Pipecat's does, and what
  // is sent meanwhile has no queue to go to.
  await first.py.stop();
  await waitUntil(async () => !(await pythonQueues()).includes(first.queue), 5_000, "the first run's queue to be dropped");
  await broadcast("while stopped");

  // Second run: a new queue, the registry handshake again, jobs both ways.
  const second = await startPython("runner-py-2", [first.queue]);
  assert.notEqual(second.queue, first.queue);
  await roundTrip(second.py, "after a clean restart");
  await broadcast("second run");
  await second.py.waitFor((e) => e.event === "bus_message" && e.fields?.event_name === "second run", 10_000, "the second run's event");
  // One queue, read in order: what was sent before "second run" would have come first.
  assert.deepEqual(uiEvents(second.py), ["second run"]);

  // A crash leaves its queue behind: pgmq keeps what is sent there, but no reader comes back
  // for it, since a restarted bus creates a queue under a new name.
  second.py.child.kill("SIGKILL");
  await second.py.exit;
  await broadcast("while crashed");
  const inDeadQueue = async () =>
    (await pool.query(`SELECT message->'__data__'->>'event_name' AS name FROM pgmq.q_${second.queue} ORDER BY msg_id`)).rows.map((r) => r.name).filter(Boolean);
  await waitUntil(async () => (await inDeadQueue()).includes("while crashed"), 5_000, "the event in the dead run's queue");

  const third = await startPython("runner-py-3", [first.queue, second.queue]);
  await roundTrip(third.py, "after a crash");
  await broadcast("third run");
  await third.py.waitFor((e) => e.event === "bus_message" && e.fields?.event_name === "third run", 10_000, "the third run's event");
  assert.deepEqual(uiEvents(third.py), ["third run"]);
  // The dead run's queue still holds what was sent to it, and what has been sent since; and
  // "second run" too when the crash came between its delivery and its deletion (unacknowledged).
  assert.deepEqual((await inDeadQueue()).filter((name) => name !== "second run"), ["while crashed", "third run"]);
});

// Pipecat's runners send no heartbeats, so their silence says nothing (docs/decisions.md).
test("a Python runner that is idle past the liveness window keeps its workers registered", { timeout: 20_000 }, async () => {
  const py = await startPySession(postgres.url, { runner: "runner-py-idle", workers: ["py-idle"], requester: "py-idle-requester", watch: ["js-worker"] });
  pys.push(py);
  // A runner with the default liveness (1 s heartbeats, gone after 3 missed).
  const watcher = new WorkerRunner({ name: "runner-js-default", bus });
  const asker = new Worker("js-asker");
  await watcher.addWorkers(asker);
  await watcher.start();
  try {
    await waitUntil(() => watcher.registry.get("py-idle")?.runner === "runner-py-idle", 10_000, "the idle runner's worker");
    const silentFor = 3 * 1000 + 1500; // heartbeatInterval × heartbeatMisses, and a margin
    await new Promise((resolve) => setTimeout(resolve, silentFor));
    assert.deepEqual(watcher.registry.get("py-idle"), { workerName: "py-idle", runner: "runner-py-idle" });
    assert.deepEqual(await asker.job("py-idle", { name: "echo", payload: { still: "here" }, timeout: 5_000 }), { still: "here" });
  } finally {
    await watcher.end({ gracePeriod: 0 });
  }
});
