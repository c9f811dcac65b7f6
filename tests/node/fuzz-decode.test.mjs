// Seeded fuzzing of what arrives from outside: `decodeMessage(text, limits)` on a few thousand
// generated inputs (mutated Pipecat messages, random JSON, random strings and bytes), and a
// MessagePortBus receiving malformed structured-clone messages over a real MessageChannel.
// scripts/fuzz runs the same generators on many more inputs (tests/fuzz/decode.mjs).
//
// Properties:
// - decodeMessage returns a message object (a known `type`, a string `source`) or null, or
//   throws an Error whose message starts "malformed Pipecat message: "; never a RangeError or a
//   WebAssembly.RuntimeError, never a hang;
// - text over `maxBytes` or nested deeper than `maxDepth` is refused with an Error naming the
//   limit;
// - every malformed structured clone is dropped and reported on the bus's "error" event, one
//   Error each, and a real job over the same link still works afterwards.
//
// WORKBUS_FUZZ_SEED sets the seed (default fixed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { decodeMessage, MessagePortBus, Worker, setLogger } from "workbus";
import { T, linkedEchoPair, quietFor, startRunner, waitFor, within } from "./helpers.mjs";
import { GOLDEN, decodeInput, checkDecode, malformedObject } from "./fuzz-gen.mjs";

const SEED = Number(process.env.WORKBUS_FUZZ_SEED ?? 0x5eed) >>> 0;
const show = (input) => JSON.stringify(typeof input === "string" ? input : Array.from(input)).slice(0, 300);

test("decodeMessage: 3000 fuzzed inputs give a message, null or an Error", { timeout: 30000 }, () => {
  const counts = { message: 0, unknown: 0, error: 0 };
  for (let i = 0; i < 3000; i++) {
    const input = decodeInput(SEED, i);
    try {
      counts[checkDecode(decodeMessage, input)]++;
    } catch (e) {
      assert.fail(`seed ${SEED} input ${i}: ${e.message}\n  input: ${show(input)}`);
    }
  }
  assert.ok(counts.message > 100 && counts.unknown > 100 && counts.error > 1000, JSON.stringify(counts));
});

test("decodeMessage: the golden messages decode, the local-only one is refused", T, () => {
  for (const text of GOLDEN) {
    const local = text.includes("BusAddWorkerMessage");
    assert.equal(checkDecode(decodeMessage, text), local ? "error" : "message", text.slice(0, 80));
  }
});

test("decodeMessage: oversized and too deep inputs are refused naming the limit", T, () => {
  const tooBig = (text, maxBytes) => assert.throws(() => decodeMessage(text, { maxBytes }), (e) => e instanceof Error && new RegExp(`over the limit of ${maxBytes}\\b`).test(e.message));
  const small = GOLDEN[2];
  tooBig(small, small.length - 1);
  tooBig("x".repeat(5000), 4096);
  tooBig("é".repeat(600), 1000); // 1200 UTF-8 bytes
  tooBig(new TextEncoder().encode(small), 10);
  assert.equal(decodeMessage(small, { maxBytes: small.length }).type, "BusFlushProgressMessage");

  const deep = (n) => `{"__type__":"pipecat.bus.messages.BusJobRequestMessage","__data__":{"source":"s","job_id":"j","payload":${"[".repeat(n)}${"]".repeat(n)}}}`;
  const tooDeep = (text, maxDepth) =>
    assert.throws(() => decodeMessage(text, maxDepth === undefined ? undefined : { maxDepth }), (e) => e instanceof Error && !(e instanceof RangeError) && new RegExp(`nested deeper than ${maxDepth ?? 64} levels`).test(e.message));
  tooDeep(deep(10), 5);
  tooDeep(deep(70));
  tooDeep(deep(100000)); // far deeper than any stack: refused, not a RangeError
  tooDeep(`[${deep(1)}]`.repeat(1), 2);
  assert.equal(decodeMessage(deep(3), { maxDepth: 10 }).type, "BusJobRequestMessage");
  for (let i = 0; i < 200; i++) {
    const input = decodeInput(SEED ^ 0xdead, i);
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    checkDecode(decodeMessage, input, { maxBytes: 64, maxDepth: 2 });
    if (new TextEncoder().encode(text).length > 64) tooBig(input, 64);
  }
});

test("MessagePortBus: every malformed structured clone is reported on 'error'; jobs go on", { timeout: 20000 }, async (t) => {
  setLogger(() => {}); // one warning per dropped message otherwise
  t.after(() => setLogger(null));
  const { A, port2, errors } = await linkedEchoPair(t);

  const N = 500;
  const sent = [];
  for (let i = 0; i < N; i++) {
    const m = malformedObject(SEED, i);
    sent.push(m);
    port2.postMessage(m);
  }
  await waitFor(() => errors.length >= N, { timeout: 10000, what: `${N} bus errors (got ${errors.length})` });
  await quietFor(50); // no second error for any of them
  assert.equal(errors.length, N, "one error per malformed message");
  errors.forEach((error, i) => {
    assert.ok(error instanceof Error && !(error instanceof RangeError), `message ${i} (${show(JSON.stringify(sent[i]) ?? String(sent[i]))}): ${error}`);
    assert.match(error.message, /^dropped a malformed message: ./);
  });
  assert.deepEqual(await within(A.job("echo", { payload: { after: N } }), 2000, "a job after the malformed messages"), { echoed: { after: N } });
});
