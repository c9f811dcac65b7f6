// Registry: local/remote names, get/has, watch/unwatch, register, entries().
//
// Assumptions (readings of the contract where it is not explicit):
// - `await runner.start()` resolves after the added workers have registered, so
//   `registry.localWorkers` lists them right after it ("resolves once set up and the added
//   workers started"; a worker registers as part of starting).
// - `registry.register(data)` resolves after the watchers of that name have run (Pipecat awaits
//   them one after another, in registration order), and `registry.watch(name, h)` for a known
//   name has called `h` by the time it resolves ("fires at once if known").
// - A second `watch` with the same (name, handler) for a known name does not call the handler
//   again (idempotent: the second call does nothing at all, as in Pipecat).
// - `register({ workerName, runner })` with a runner name other than the registry's own files
//   the worker as remote; `entries()` lists only this runner's ready workers.
// - `startedAt` in `entries()` is epoch milliseconds (`Date.now()` style).
// - `runner.registry instanceof WorkerRegistry`, and `new WorkerRegistry(runnerName)` builds a
//   standalone registry (constructor as in the package's type definitions).
// - With several remote runners, `remoteWorkers` is compared as a set (Pipecat groups the names
//   by runner; the API contract says "registration order"); within one remote runner, order is checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerRunner, WorkerRegistry } from "workbus";
import { T, sleep, quietFor, startRunner, waitFor, trackUnhandledRejections } from "./helpers.mjs";

/** A watch handler that pushes `map(data)` onto `list` and returns nothing. */
const pushTo = (list, map = (d) => d) => (d) => {
  list.push(map(d));
};

test("registry of a runner: runnerName, localWorkers in registration order", T, async (t) => {
  const a = new Worker("a");
  const runner = await startRunner(t, [a], { name: "reg-runner" });
  assert.ok(runner.registry instanceof WorkerRegistry);
  assert.equal(runner.registry.runnerName, "reg-runner");
  assert.deepEqual(runner.registry.localWorkers, ["a"]);
  assert.deepEqual(runner.registry.remoteWorkers, []);

  await runner.addWorkers(new Worker("b"));
  await waitFor(() => runner.registry.has("b"), { what: "b registered" });
  await runner.addWorkers(new Worker("c"));
  await waitFor(() => runner.registry.has("c"), { what: "c registered" });
  assert.deepEqual(runner.registry.localWorkers, ["a", "b", "c"]);
  assert.deepEqual(runner.registry.remoteWorkers, []);
  // The same registry object is shared with the workers.
  assert.equal(a.registry, runner.registry);
});

test("get returns a fresh plain { workerName, runner } object; has", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")], { name: "get-runner" });
  const reg = runner.registry;
  const first = reg.get("a");
  assert.deepEqual(first, { workerName: "a", runner: "get-runner" });
  assert.equal(Object.getPrototypeOf(first), Object.prototype);
  const second = reg.get("a");
  assert.notEqual(first, second, "each get returns a new object");
  first.workerName = "mutated";
  first.runner = "mutated";
  assert.deepEqual(reg.get("a"), { workerName: "a", runner: "get-runner" });
  assert.equal(reg.has("a"), true);
  assert.equal(reg.has("nobody"), false);
  assert.equal(reg.get("nobody"), undefined);
});

test("register: true when new, false when already there; remote names in order", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")], { name: "local-r" });
  const reg = runner.registry;
  assert.equal(await reg.register({ workerName: "x", runner: "far-1" }), true);
  assert.equal(await reg.register({ workerName: "x", runner: "far-1" }), false);
  assert.equal(await reg.register({ workerName: "y", runner: "far-2" }), true);
  assert.equal(await reg.register({ workerName: "z", runner: "far-1" }), true);
  assert.deepEqual(reg.localWorkers, ["a"]);
  assert.deepEqual([...reg.remoteWorkers].sort(), ["x", "y", "z"]);
  assert.equal(reg.remoteWorkers.length, 3);
  assert.equal(reg.has("x"), true);
  assert.deepEqual(reg.get("x"), { workerName: "x", runner: "far-1" });
  assert.deepEqual(reg.get("y"), { workerName: "y", runner: "far-2" });
  // A local worker registered again is not new.
  assert.equal(await reg.register({ workerName: "a", runner: "local-r" }), false);
  assert.deepEqual(reg.localWorkers, ["a"]);
});

test("remoteWorkers keeps registration order within one remote runner", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  for (const name of ["r3", "r1", "r2"]) {
    assert.equal(await reg.register({ workerName: name, runner: "remote-runner" }), true);
  }
  assert.deepEqual(reg.remoteWorkers, ["r3", "r1", "r2"]);
});

test("watch fires at once when the name is known, with a plain WorkerReadyData", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")], { name: "watch-r" });
  const calls = [];
  const handler = pushTo(calls);
  await runner.registry.watch("a", handler);
  assert.deepEqual(calls, [{ workerName: "a", runner: "watch-r" }]);
  // Idempotent per (name, handler): watching again neither fires nor duplicates.
  await runner.registry.watch("a", handler);
  assert.equal(calls.length, 1);
});

test("watch fires on register, once per (name, handler), in watch order", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  const order = [];
  const h1 = pushTo(order, (d) => ["h1", d]);
  const h2 = async (d) => {
    await sleep(1);
    order.push(["h2", d]);
  };
  await reg.watch("later", h1);
  await reg.watch("later", h1); // idempotent
  await reg.watch("later", h2);
  assert.deepEqual(order, []);
  assert.equal(await reg.register({ workerName: "later", runner: "other" }), true);
  assert.deepEqual(order, [
    ["h1", { workerName: "later", runner: "other" }],
    ["h2", { workerName: "later", runner: "other" }],
  ]);
  // Registering again is not new: watchers do not fire again.
  assert.equal(await reg.register({ workerName: "later", runner: "other" }), false);
  assert.equal(order.length, 2);
});

test("the same handler may watch several names", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  const seen = [];
  const h = pushTo(seen, (d) => d.workerName);
  await reg.watch("n1", h);
  await reg.watch("n2", h);
  await reg.register({ workerName: "n2", runner: "o" });
  await reg.register({ workerName: "n1", runner: "o" });
  assert.deepEqual(seen, ["n2", "n1"]);
});

test("unwatch removes a handler", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  const removed = [];
  const kept = [];
  const hRemoved = pushTo(removed);
  const hKept = pushTo(kept);
  await reg.watch("u", hRemoved);
  await reg.watch("u", hKept);
  assert.equal(reg.unwatch("u", hRemoved), undefined);
  // Unwatching something never watched is harmless.
  reg.unwatch("u", () => {});
  reg.unwatch("never-watched", hKept);
  await reg.register({ workerName: "u", runner: "o" });
  assert.deepEqual(removed, []);
  assert.deepEqual(kept, [{ workerName: "u", runner: "o" }]);
});

test("watcher errors are logged, never thrown; later watchers still run", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")]);
  const reg = runner.registry;
  const seen = [];
  const unhandled = trackUnhandledRejections(t);

  await reg.watch("e", () => {
    throw new Error("sync watcher boom");
  });
  await reg.watch("e", async () => {
    throw new Error("async watcher boom");
  });
  await reg.watch("e", pushTo(seen));
  assert.equal(await reg.register({ workerName: "e", runner: "o" }), true);
  assert.deepEqual(seen, [{ workerName: "e", runner: "o" }]);

  // A throwing watcher on a known name: watch resolves anyway.
  await reg.watch("e", () => {
    throw new Error("immediate watcher boom");
  });
  await quietFor(10); // no unhandled rejection
  assert.deepEqual(unhandled, []);
  assert.equal(reg.has("e"), true);
});

test("workers' readiness fires registry watchers (local registration)", T, async (t) => {
  const runner = await startRunner(t, [new Worker("a")], { name: "rw" });
  const seen = [];
  await runner.registry.watch("b", pushTo(seen));
  assert.deepEqual(seen, []);
  await runner.addWorkers(new Worker("b"));
  await waitFor(() => seen.length === 1, { what: "watcher for b" });
  assert.deepEqual(seen, [{ workerName: "b", runner: "rw" }]);
  assert.deepEqual(runner.registry.localWorkers, ["a", "b"]);
});

test("entries() shape: { name, parent, active, bridged, startedAt } for this runner's workers", T, async (t) => {
  const before = Date.now();
  const parent = new Worker("parent");
  const idle = new Worker("idle", { active: false });
  const child = new Worker("child");
  await parent.addWorkers(child);
  const runner = await startRunner(t, [parent, idle]);
  await waitFor(() => runner.registry.has("child"), { what: "child registered" });
  await runner.registry.register({ workerName: "remote-one", runner: "elsewhere" });
  const after = Date.now();

  const entries = runner.registry.entries();
  assert.ok(Array.isArray(entries));
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), ["child", "idle", "parent"]);
  for (const e of entries) {
    assert.deepEqual(Object.keys(e).sort(), ["active", "bridged", "name", "parent", "startedAt"]);
    assert.equal(typeof e.startedAt, "number");
    assert.ok(e.startedAt >= before - 1 && e.startedAt <= after + 1, `startedAt ${e.startedAt} is epoch ms`);
    assert.equal(e.bridged, false);
  }
  assert.equal(byName.parent.parent, null);
  assert.equal(byName.parent.active, true);
  assert.equal(byName.idle.parent, null);
  assert.equal(byName.idle.active, false);
  assert.equal(byName.child.parent, "parent");
  assert.equal(byName.child.active, true);
});

test("a registry can be created on its own", T, async () => {
  const reg = new WorkerRegistry("solo");
  assert.equal(reg.runnerName, "solo");
  assert.deepEqual(reg.localWorkers, []);
  assert.deepEqual(reg.remoteWorkers, []);
  assert.deepEqual(reg.entries(), []);
  const seen = [];
  await reg.watch("w", pushTo(seen));
  assert.equal(await reg.register({ workerName: "w", runner: "solo" }), true);
  assert.equal(await reg.register({ workerName: "v", runner: "other" }), true);
  assert.deepEqual(reg.localWorkers, ["w"]);
  assert.deepEqual(reg.remoteWorkers, ["v"]);
  assert.deepEqual(seen, [{ workerName: "w", runner: "solo" }]);
});

test("a runner's registry exists before start", T, async () => {
  const runner = new WorkerRunner({ name: "not-started" });
  assert.equal(runner.registry.runnerName, "not-started");
  assert.deepEqual(runner.registry.localWorkers, []);
  assert.equal(runner.registry.has("x"), false);
});
