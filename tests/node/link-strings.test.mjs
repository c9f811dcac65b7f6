// What a job costs in strings leaving wasm on a postMessage link. Each string the engine hands
// to JavaScript is decoded by a TextDecoder call (about a microsecond in Chromium); property
// names, message types, statuses and worker names recur on every message, so they are made
// once per realm and a job's round trip decodes only its id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, UUID, linkedEchoPair } from "./helpers.mjs";

/** Runs `fn` and returns the strings TextDecoder decoded meanwhile. */
async function decodedDuring(t, fn) {
  const decode = TextDecoder.prototype.decode;
  const decoded = [];
  TextDecoder.prototype.decode = function (input, options) {
    const text = decode.call(this, input, options);
    decoded.push(text);
    return text;
  };
  t.after(() => (TextDecoder.prototype.decode = decode));
  try {
    await fn();
  } finally {
    TextDecoder.prototype.decode = decode;
  }
  return decoded;
}

test("jobs across a link decode only their ids out of wasm: names, types and keys are reused", T, async (t) => {
  const { A } = await linkedEchoPair(t);
  // The first jobs make the names; from then on they are reused.
  for (let i = 0; i < 5; i++) await A.job("echo", { name: "ping", payload: { i } });
  const jobs = 50;
  const answers = [];
  const decoded = await decodedDuring(t, async () => {
    for (let i = 0; i < jobs; i++) answers.push(await A.job("echo", { name: "ping", payload: { i } }));
  });
  assert.deepEqual(answers.map((a) => a.echoed.i), [...Array(jobs).keys()]);
  assert.deepEqual(decoded.filter((text) => !UUID.test(text)), [], "only job ids are decoded");
  // Both ends are in this realm: an id leaves wasm at most once on each side.
  assert.ok(decoded.length <= 2 * jobs, `${decoded.length} ids decoded for ${jobs} jobs`);
});
