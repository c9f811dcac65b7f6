// Several runners on one LocalBus: registry snapshots, jobs across runners, session-wide
// end/cancel (worker.endSession / worker.cancelSession), runner.end() staying local.
//
// Assumptions (readings of the contract where it is not explicit):
// - Runners exchange Pipecat's `BusWorkerRegistryMessage` snapshots, which workers see on
//   "busMessage" (broadcast), listing every worker of the sending runner, children included.
// - `worker.endSession()` / `cancelSession()` end every runner on the bus, the caller's own
//   included (Pipecat: every runner whose name differs from the message's source, a worker name).
//   Workers of the other runner see the broadcast `BusEndMessage` with the reason (checked for
//   end only: with a cancel, the receiving runner may stop its workers before they handle it).
// - When a runner is cancelled while one of its workers handles a job for a worker of another
//   runner, the requester's job fails with "worker '<w>' stopped" (the stopping worker answers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner, LocalBus, JobError } from "workbus";
import { T, sleep, quietFor, within, cancelAfter, startRunner } from "./helpers.mjs";
import { catchError, waitFor, isSettled, blockingWorker } from "./helpers.mjs";

async function twoRunners(t, aWorkers, bWorkers) {
  const bus = new LocalBus();
  const A = await startRunner(t, aWorkers, { name: "ra", bus });
  const B = await startRunner(t, bWorkers, { name: "rb", bus });
  return { bus, A, B };
}

test("two runners on one LocalBus see each other's workers and run jobs across", T, async (t) => {
  const a1 = new Worker("a1").onJob((job) => ({ on: "ra", source: job.source }));
  const b1 = new Worker("b1").onJob((job) => ({ on: "rb", source: job.source, payload: job.payload }));
  const snapshots = [];
  a1.on("busMessage", (m) => {
    if (m.type === "BusWorkerRegistryMessage") snapshots.push(m);
  });
  const { bus, A, B } = await twoRunners(t, [a1], [b1]);
  assert.equal(A.bus, bus);
  assert.equal(B.bus, bus);

  const payload = { cross: true };
  assert.deepEqual(await within(a1.job("b1", { payload }), 2000, "a1 → b1"), {
    on: "rb",
    source: "a1",
    payload,
  });
  assert.deepEqual(await within(b1.job("a1"), 2000, "b1 → a1"), { on: "ra", source: "b1" });
  assert.equal((await A.job("b1")).source, "ra");
  assert.deepEqual(await B.job("a1"), { on: "ra", source: "rb" });

  await waitFor(() => A.registry.has("b1") && B.registry.has("a1"), { what: "both registries" });
  assert.deepEqual(A.registry.localWorkers, ["a1"]);
  assert.deepEqual(A.registry.remoteWorkers, ["b1"]);
  assert.deepEqual(B.registry.localWorkers, ["b1"]);
  assert.deepEqual(B.registry.remoteWorkers, ["a1"]);
  assert.deepEqual(A.registry.get("b1"), { workerName: "b1", runner: "rb" });
  assert.deepEqual(B.registry.get("a1"), { workerName: "a1", runner: "ra" });
  assert.equal(A.getWorker("b1"), undefined, "a remote worker has no object here");
  assert.deepEqual(
    A.registry.entries().map((e) => e.name),
    ["a1"],
  );

  const fromB = await waitFor(() => snapshots.find((m) => m.source === "rb"), { what: "rb's snapshot" });
  assert.equal(fromB.type, "BusWorkerRegistryMessage");
  assert.equal(fromB.target, null);
  assert.equal(fromB.runner, "rb");
  assert.ok(Array.isArray(fromB.workers));
  const entry = fromB.workers.find((e) => e.name === "b1");
  assert.deepEqual(
    { name: entry.name, parent: entry.parent, active: entry.active, bridged: entry.bridged },
    { name: "b1", parent: null, active: true, bridged: false },
  );
});

test("discovery works in either start order and includes children", T, async (t) => {
  const bus = new LocalBus();
  const B = new WorkerRunner({ name: "rb", bus });
  cancelAfter(t, B);
  const b1 = new Worker("b1");
  const child = new Worker("b1-child").onJob(() => "child on rb");
  await b1.addWorkers(child);
  await B.addWorkers(b1);
  await B.start();
  await sleep(10);
  const a1 = new Worker("a1");
  const A = await startRunner(t, [a1], { name: "ra", bus });
  assert.equal(await within(a1.job("b1-child"), 2000, "a1 → b1-child"), "child on rb");
  await waitFor(() => A.registry.has("b1") && B.registry.has("a1"), { what: "both registries" });
  assert.deepEqual([...A.registry.remoteWorkers].sort(), ["b1", "b1-child"]);
});

test("runner.end() is local: the other runner keeps running", T, async (t) => {
  const a1 = new Worker("a1");
  const b1 = new Worker("b1").onJob(() => "still here");
  const { A, B } = await twoRunners(t, [a1], [b1]);
  assert.equal(await a1.job("b1"), "still here");
  await within(A.end(), 1000, "A.end()");
  await quietFor(30);
  assert.equal(await isSettled(B.finished), false);
  assert.equal(await B.job("b1"), "still here");
});

test("worker.endSession() ends every runner on the bus", T, async (t) => {
  const a1 = new Worker("a1");
  const b1 = new Worker("b1");
  const seen = [];
  b1.on("busMessage", (m) => {
    if (m.type === "BusEndMessage") seen.push(m);
  });
  const { A, B } = await twoRunners(t, [a1], [b1]);
  await a1.job("b1").then(
    () => {},
    () => {},
  );
  assert.equal(await a1.endSession({ reason: "all done" }), undefined);
  await within(Promise.all([A.finished, B.finished]), 2000, "both runners finished");
  assert.equal(await isSettled(a1.finished), true);
  assert.equal(await isSettled(b1.finished), true);
  assert.equal(seen.length >= 1, true);
  assert.equal(seen[0].source, "a1");
  assert.equal(seen[0].target, null);
  assert.equal(seen[0].reason, "all done");
});

test("worker.cancelSession() cancels every runner on the bus; running handlers abort", T, async (t) => {
  const { worker: a1, started } = blockingWorker("a1");
  const b1 = new Worker("b1");
  const { A, B } = await twoRunners(t, [a1], [b1]);
  const ctx = b1.job("a1");
  const job = await started;
  await b1.cancelSession({ reason: "abort everything" });
  await within(Promise.all([A.finished, B.finished]), 2000, "both runners finished");
  assert.equal(job.signal.aborted, true);
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
});

test("endSession without options and from a child", T, async (t) => {
  const p = new Worker("p");
  const c = new Worker("c");
  await p.addWorkers(c);
  const other = new Worker("other");
  const { A, B } = await twoRunners(t, [p], [other]);
  await waitFor(() => A.registry.has("c"), { what: "child ready" });
  await c.endSession();
  await within(Promise.all([A.finished, B.finished]), 2000, "both runners finished");
});

test("a runner going away fails the jobs its workers were handling for others", T, async (t) => {
  const a1 = new Worker("a1");
  const { worker: b1, started } = blockingWorker("b1");
  const { A, B } = await twoRunners(t, [a1], [b1]);
  const ctx = a1.job("b1");
  await started;
  await B.cancel();
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "worker 'b1' stopped");
  assert.equal(await isSettled(A.finished), false);
});
