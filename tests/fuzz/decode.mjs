#!/usr/bin/env node
// Fuzzes the JS entry points of the built package (node_modules/workbus, see scripts/build):
//   1. replays tests/fuzz-corpus/*.json through decodeMessage;
//   2. decodeMessage on N generated inputs (tests/node/fuzz-gen.mjs, mutating all of
//      tests/fixtures/pipecat-wire.json) under the default limits and, for one in ten, tight
//      ones; every decoded message must also encode (encodeMessage) and decode again to the same
//      type, and hold only plain objects (no prototype set through a "__proto__" key);
//   3. a MessagePortBus receiving N/10 malformed structured clones over a MessageChannel: one
//      "error" event each, then a job over the link still works.
// Usage: node tests/fuzz/decode.mjs [N=100000] [seed]   (or WORKBUS_FUZZ_SEED)
// Exits 1 when a property is broken; prints inputs/s and a summary.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { decodeMessage, encodeMessage, MessagePortBus, Worker, WorkerRunner, setLogger } from "workbus";
import { decodeInput, checkDecode, malformedObject } from "../node/fuzz-gen.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const N = Number(process.argv[2] ?? 100000);
const SEED = Number(process.argv[3] ?? process.env.WORKBUS_FUZZ_SEED ?? Date.now() % 2 ** 32) >>> 0;
const golden = JSON.parse(readFileSync(join(root, "tests/fixtures/pipecat-wire.json"), "utf8")).map((v) => v.json);
const show = (input) => JSON.stringify(typeof input === "string" ? input : `<bytes> ${new TextDecoder().decode(input)}`).slice(0, 400);
const failures = [];
const fail = (what, input, e) => failures.length < 20 && failures.push(`${what}: ${e.message ?? e}\n    input: ${show(input)}`);
/** Findings that were fixed: any new occurrence fails the run. */
const open = new Map();
const finding = (what, example) => {
  const f = open.get(what) ?? { count: 0, example };
  f.count++;
  open.set(what, f);
};

function plainOnly(v, seen = new Set()) {
  if (v === null || typeof v !== "object" || seen.has(v)) return true;
  seen.add(v);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== Uint8Array.prototype) return false;
  return Object.keys(v).every((k) => plainOnly(v[k], seen));
}

function checkMessage(input, limits) {
  const outcome = checkDecode(decodeMessage, input, limits);
  if (outcome !== "message") return outcome;
  const m = decodeMessage(input, limits);
  if (!plainOnly(m)) finding('a "__proto__" key in a payload sets the prototype of the decoded object', input);
  let text;
  try {
    text = encodeMessage(m);
  } catch (e) {
    if (/incompatible receiver/.test(e.message) && !plainOnly(m)) finding('a "__proto__" key holding a bytes envelope makes encodeMessage throw a TypeError from inside the wasm (thrown through a RedisBus worker that returns the payload, it ends the process)', input);
    else if (/must be a finite number/.test(e.message)) finding("decodeMessage gives a non-finite number (1e400, or seconds overflowing to ms) that encodeMessage refuses", input);
    else throw new Error(`encodeMessage refuses a decoded ${m.type}: ${e.message}`);
    return outcome;
  }
  const again = decodeMessage(text);
  if (again?.type !== m.type) throw new Error(`${m.type} came back as ${again?.type}`);
  return outcome;
}

// 1. the corpus
const corpusDir = join(root, "tests/fuzz-corpus");
let corpus = 0;
for (const name of readdirSync(corpusDir).filter((f) => f.endsWith(".json")).sort()) {
  const text = readFileSync(join(corpusDir, name), "utf8");
  corpus++;
  try {
    const outcome = checkMessage(text);
    const kind = name.split("-")[0];
    const expected = { message: ["message"], unknown: ["unknown"], error: ["error"], deep: ["error"], invalid: ["error", "message"] }[kind];
    if (!expected) throw new Error(`unknown corpus prefix ${kind}`);
    // (JSON.parse accepts lone surrogates and numbers out of range, which serde_json refuses)
    if (!expected.includes(outcome)) throw new Error(`expected ${expected.join(" or ")}, got ${outcome}`);
  } catch (e) {
    fail(`corpus ${name}`, text, e);
  }
}

// 2. decodeMessage
const counts = { message: 0, unknown: 0, error: 0 };
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  const input = decodeInput(SEED, i, golden);
  const limits = i % 10 === 9 ? { maxBytes: 256, maxDepth: 3 } : undefined;
  try {
    counts[checkMessage(input, limits)]++;
  } catch (e) {
    fail(`decodeMessage seed ${SEED} input ${i}${limits ? " (tight limits)" : ""}`, input, e);
  }
}
const decodeSecs = (performance.now() - t0) / 1000;

// 3. a linked bus
const B = Math.max(100, Math.floor(N / 10));
t0 = performance.now();
setLogger(() => {});
const { port1, port2 } = new MessageChannel();
const busA = new MessagePortBus(port1);
const busB = new MessagePortBus(port2);
const errors = [];
busA.on("error", (e) => errors.push(e));
const ra = new WorkerRunner({ name: "ra", bus: busA });
const rb = new WorkerRunner({ name: "rb", bus: busB });
await rb.addWorkers(new Worker("echo").onJob((job) => ({ echoed: job.payload })));
await ra.start();
await rb.start();
const deadline = (ms) => Date.now() + ms;
let until = deadline(5000);
while (!ra.registry.has("echo") && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < B; i++) {
  port2.postMessage(malformedObject(SEED, i));
  if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
}
until = deadline(60000);
while (errors.length < B && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
await new Promise((r) => setTimeout(r, 50));
if (errors.length !== B) fail("MessagePortBus", `${B} malformed messages`, new Error(`${errors.length} errors reported`));
const bad = errors.find((e) => !(e instanceof Error) || e instanceof RangeError || !/^dropped a malformed message: ./.test(e.message));
if (bad) fail("MessagePortBus", "", new Error(`an error event of ${bad}`));
const answer = await Promise.race([ra.job("echo", { payload: 42 }), new Promise((r) => setTimeout(() => r("timeout"), 3000))]);
if (JSON.stringify(answer) !== JSON.stringify({ echoed: 42 })) fail("MessagePortBus", "a job after the malformed messages", new Error(`got ${JSON.stringify(answer)}`));
await ra.cancel();
await rb.cancel();
busA.close();
busB.close();
port1.close();
setLogger(null);
const busSecs = (performance.now() - t0) / 1000;

console.log(`fuzz-js: seed ${SEED}: corpus ${corpus} files; decodeMessage ${N} inputs in ${decodeSecs.toFixed(2)} s (${Math.round(N / decodeSecs)} inputs/s): ${counts.message} messages, ${counts.unknown} unknown tags, ${counts.error} errors`);
console.log(`fuzz-js: MessagePortBus: ${B} malformed structured clones in ${busSecs.toFixed(2)} s (${Math.round(B / busSecs)}/s): ${errors.length} reported on "error"; a job afterwards: ${JSON.stringify(answer)}`);
for (const [what, f] of open) failures.push(`${what} (${f.count} inputs)\n    e.g. ${show(f.example)}`);
if (failures.length) {
  console.log(`fuzz-js: ${failures.length} FAILURES:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("fuzz-js: no property broken");
