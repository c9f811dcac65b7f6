// Activation: `active` option, activateWorker (args, deactivateSelf), deactivateWorker, the
// "activated"/"deactivated" events, WorkerActivationArgs and LLMWorkerActivationArgs.
//
// Assumptions (readings of the contract where it is not explicit):
// - A worker created active (the default) fires "activated" once with `null` when it starts
//   (Pipecat: `active=True` marks a pending activation that fires on start).
// - A plain object given as `args` is sent as is (it already is the wire form), so it arrives
//   deep-equal; `WorkerActivationArgs.fromDict({})` arrives as `{}`.
// - `activationArgs` is the wire-form object of the latest activation (`null` before any and
//   after a deactivation); activation is not idempotent (every activate fires "activated").
// - `activateWorker(name, { deactivateSelf: true })` makes the caller inactive by the time the
//   returned promise resolves, and the caller gets "deactivated".
// - `fromDict` ignores unknown keys; `toDict` leaves out null/undefined fields; `fromDict({})`
//   gives an object whose `toDict()` is `{}`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, WorkerActivationArgs, LLMWorkerActivationArgs } from "workbus";
import { T, quietFor, startRunner, waitFor, record } from "./helpers.mjs";

test("a worker is active by default and fires 'activated' with null on start", T, async (t) => {
  const w = new Worker("w");
  assert.equal(w.active, true);
  assert.equal(w.activationArgs, null);
  const activated = record(w, "activated");
  await startRunner(t, [w]);
  await waitFor(() => activated.length === 1, { what: "activated" });
  await quietFor(10); // no second "activated"
  assert.deepEqual(activated, [null]);
  assert.equal(w.active, true);
  assert.equal(w.activationArgs, null);
});

test("active: false starts inactive and fires nothing", T, async (t) => {
  const w = new Worker("w", { active: false });
  assert.equal(w.active, false);
  const activated = record(w, "activated");
  const runner = await startRunner(t, [w]);
  await quietFor(20); // no "activated"
  assert.equal(w.active, false);
  assert.deepEqual(activated, []);
  const entry = runner.registry.entries().find((e) => e.name === "w");
  assert.equal(entry.active, false);
});

test("activateWorker with WorkerActivationArgs: 'activated' gets the plain wire-form object", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b", { active: false });
  const activated = record(b, "activated");
  await startRunner(t, [a, b]);
  const args = WorkerActivationArgs.fromDict({ metadata: { a: 1 } });
  assert.equal(await a.activateWorker("b", { args }), undefined);
  await waitFor(() => activated.length === 1, { what: "activated" });
  assert.deepEqual(activated, [{ metadata: { a: 1 } }]);
  assert.equal(Object.getPrototypeOf(activated[0]), Object.prototype, "a plain object");
  assert.equal(b.active, true);
  assert.deepEqual(b.activationArgs, { metadata: { a: 1 } });
});

test("activateWorker with a plain object, with no args, and with empty args", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b", { active: false });
  const activated = record(b, "activated");
  await startRunner(t, [a, b]);

  await a.activateWorker("b", { args: { metadata: { x: 2 } } });
  await waitFor(() => activated.length === 1, { what: "first activation" });
  assert.deepEqual(activated[0], { metadata: { x: 2 } });

  // Activation is not idempotent: an active worker activated again fires again.
  await a.activateWorker("b");
  await waitFor(() => activated.length === 2, { what: "second activation" });
  assert.equal(activated[1], null);
  assert.equal(b.activationArgs, null);

  await a.activateWorker("b", { args: WorkerActivationArgs.fromDict({}) });
  await waitFor(() => activated.length === 3, { what: "third activation" });
  assert.deepEqual(activated[2], {});
});

test("activateWorker with LLMWorkerActivationArgs sends its wire form", T, async (t) => {
  const a = new Worker("a");
  const llm = new Worker("llm", { active: false });
  const activated = record(llm, "activated");
  await startRunner(t, [a, llm]);
  const messages = [{ role: "user", content: "hi" }];
  await a.activateWorker("llm", { args: LLMWorkerActivationArgs.fromDict({ messages }) });
  await waitFor(() => activated.length === 1, { what: "first activation" });
  assert.deepEqual(activated[0], { messages: [{ role: "user", content: "hi" }] });

  await a.activateWorker("llm", {
    args: LLMWorkerActivationArgs.fromDict({ metadata: { m: true }, messages, run_llm: false }),
  });
  await waitFor(() => activated.length === 2, { what: "second activation" });
  assert.deepEqual(activated[1], { metadata: { m: true }, messages, run_llm: false });
});

test("deactivateWorker: 'deactivated' with no argument; active false; args cleared", T, async (t) => {
  const a = new Worker("a");
  const b = new Worker("b", { active: false });
  const deactivatedArgs = [];
  b.on("deactivated", (...args) => deactivatedArgs.push(args));
  await startRunner(t, [a, b]);
  await a.activateWorker("b", { args: { metadata: { k: "v" } } });
  await waitFor(() => b.active, { what: "b active" });
  assert.deepEqual(b.activationArgs, { metadata: { k: "v" } });
  assert.equal(await a.deactivateWorker("b"), undefined);
  await waitFor(() => deactivatedArgs.length === 1, { what: "deactivated" });
  assert.deepEqual(deactivatedArgs, [[]]);
  assert.equal(b.active, false);
  assert.equal(b.activationArgs, null);
});

test("activateWorker with deactivateSelf hands off: caller inactive, target active", T, async (t) => {
  const greeter = new Worker("greeter");
  const support = new Worker("support", { active: false });
  const log = [];
  greeter.on("deactivated", () => log.push("greeter deactivated"));
  support.on("activated", (args) => log.push(["support activated", args]));
  await startRunner(t, [greeter, support]);
  assert.equal(greeter.active, true);
  await greeter.activateWorker("support", { deactivateSelf: true, args: { metadata: { from: "greeter" } } });
  assert.equal(greeter.active, false, "the caller is inactive at once");
  await waitFor(() => log.length === 2, { what: "hand-off events" });
  assert.ok(log.includes("greeter deactivated"));
  assert.deepEqual(
    log.find((e) => Array.isArray(e)),
    ["support activated", { metadata: { from: "greeter" } }],
  );
  assert.equal(support.active, true);
  assert.equal(greeter.active, false);
});

test("WorkerActivationArgs.fromDict / toDict", T, () => {
  const args = WorkerActivationArgs.fromDict({ metadata: { a: 1 }, unknown: 5 });
  assert.ok(args instanceof WorkerActivationArgs);
  assert.deepEqual(args.metadata, { a: 1 });
  assert.deepEqual(args.toDict(), { metadata: { a: 1 } });
  assert.equal(Object.getPrototypeOf(args.toDict()), Object.prototype);
  assert.deepEqual(WorkerActivationArgs.fromDict({}).toDict(), {});
  assert.deepEqual(WorkerActivationArgs.fromDict({ metadata: null }).toDict(), {});
  assert.deepEqual(WorkerActivationArgs.fromDict({ unknown: 1 }).toDict(), {});
});

test("LLMWorkerActivationArgs: runLlm defaults, run_llm/runLlm accepted, toDict", T, () => {
  const messages = [{ role: "system", content: "be nice" }];

  const withMessages = LLMWorkerActivationArgs.fromDict({ messages });
  assert.ok(withMessages instanceof LLMWorkerActivationArgs);
  assert.equal(withMessages.runLlm, true, "true when messages set and runLlm not given");
  assert.deepEqual(withMessages.messages, messages);
  assert.deepEqual(withMessages.toDict(), { messages }, "run_llm only when given");

  const empty = LLMWorkerActivationArgs.fromDict({});
  assert.equal(empty.runLlm, false, "false when neither messages nor runLlm given");
  assert.deepEqual(empty.toDict(), {});

  const snake = LLMWorkerActivationArgs.fromDict({ messages, run_llm: false });
  assert.equal(snake.runLlm, false);
  assert.deepEqual(snake.toDict(), { messages, run_llm: false });

  const camel = LLMWorkerActivationArgs.fromDict({ runLlm: true });
  assert.equal(camel.runLlm, true);
  assert.deepEqual(camel.toDict(), { run_llm: true });

  const camelFalse = LLMWorkerActivationArgs.fromDict({ messages, runLlm: false });
  assert.equal(camelFalse.runLlm, false);
  assert.deepEqual(camelFalse.toDict(), { messages, run_llm: false });

  const full = LLMWorkerActivationArgs.fromDict({ metadata: { id: 7 }, messages, run_llm: true, extra: "x" });
  assert.deepEqual(full.metadata, { id: 7 });
  assert.equal(full.runLlm, true);
  assert.deepEqual(full.toDict(), { metadata: { id: 7 }, messages, run_llm: true });
});
