// The registry's "ready" and "gone" events, registry.instances(), and registry.watch() in a
// fresh process (where the first handler once shared its key with the first worker).
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { Worker, WorkerRunner } from "workbus";
import { T, catchSync, deferred, startRunner, waitFor, linkedBuses } from "./helpers.mjs";

test("in a fresh process, the first registry.watch of a child's name fires", T, () => {
  // The parent is the process's first worker and the watcher its first handler.
  const script = `
    import { Worker, WorkerRunner } from "workbus";
    const parent = new Worker("parent");
    const runner = new WorkerRunner();
    await runner.addWorkers(parent);
    await parent.addWorkers(new Worker("child"));
    await runner.start();
    let fired = 0;
    await runner.registry.watch("child", () => fired++);
    console.log(JSON.stringify({ fired }));
    await runner.end();
  `;
  const cwd = dirname(fileURLToPath(import.meta.url));
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8", timeout: 4000 });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { fired: 1 });
});

test("\"ready\" and \"gone\" report a local worker that starts and stops", T, async (t) => {
  const runner = await startRunner(t, [], { name: "here" });
  const events = [];
  runner.registry.on("ready", (d) => events.push(["ready", d]));
  runner.registry.on("gone", (d) => events.push(["gone", d]));
  const w = new Worker("w");
  await runner.addWorkers(w);
  await w.stop();
  assert.deepEqual(events, [
    ["ready", { workerName: "w", runner: "here" }],
    ["gone", { workerName: "w", runner: "here", reason: "stopped" }],
  ]);
});

test("once and off: a listener removed hears nothing more", T, async (t) => {
  const runner = await startRunner(t, [], { name: "here" });
  const once = [];
  const removed = [];
  const listener = (d) => removed.push(d.workerName);
  runner.registry.once("ready", (d) => once.push(d.workerName)).on("ready", listener).off("ready", listener);
  await runner.addWorkers(new Worker("a"), new Worker("b"));
  assert.deepEqual(once, ["a"]);
  assert.deepEqual(removed, []);
  const err = catchSync(() => runner.registry.on("left", () => {}));
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /event must be one of ready, gone/);
});

test("a remote runner's workers are ready, listed in instances(), and gone when it ends", T, async (t) => {
  const { busA, busB } = await linkedBuses(t);
  const A = await startRunner(t, [new Worker("ocr")], { name: "ra", bus: busA });
  const ready = deferred();
  A.registry.on("ready", (d) => d.runner === "rb" && ready.resolve(d));
  const B = new WorkerRunner({ name: "rb", bus: busB });
  await B.addWorkers(new Worker("ocr"));
  await B.start();
  assert.deepEqual(await ready.promise, { workerName: "ocr", runner: "rb" });
  assert.deepEqual(A.registry.instances("ocr"), [
    { workerName: "ocr", runner: "ra", pending: 0 },
    { workerName: "ocr", runner: "rb", pending: 0 },
  ]);
  const gone = deferred();
  A.registry.on("gone", (d) => gone.resolve(d));
  await B.end();
  assert.deepEqual(await gone.promise, { workerName: "ocr", runner: "rb", reason: "runner ended" });
  assert.deepEqual(A.registry.instances("ocr"), [{ workerName: "ocr", runner: "ra", pending: 0 }]);
});

test("a runner that goes silent: its workers are gone with the reason \"runner silent\"", T, async (t) => {
  const { busA, busB } = await linkedBuses(t);
  const liveness = { heartbeatInterval: 20, heartbeatMisses: 3 };
  const A = await startRunner(t, [], { name: "ra", bus: busA, ...liveness });
  await startRunner(t, [new Worker("quiet")], { name: "rb", bus: busB, ...liveness });
  await waitFor(() => A.registry.has("quiet"), { timeout: 2000, what: "quiet in ra's registry" });
  const gone = deferred();
  A.registry.on("gone", (d) => gone.resolve(d));
  busB.close(); // rb says nothing more, not even goodbye
  assert.deepEqual(await gone.promise, { workerName: "quiet", runner: "rb", reason: "runner silent" });
});
