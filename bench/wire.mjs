// Benchmark 8: Pipecat's JSON wire codec (`encodeMessage` / `decodeMessage`) against the
// platform doing the least work that produces (or reads) the same text, in the same process,
// round-robin (a batch of one, then a batch of the other, ...).
//
//   node bench/wire.mjs [--rounds 15] [--budget-ms 60]
//
// Messages: a small BusJobRequestMessage; one whose payload is ~1 MB of JSON objects; one whose
// payload holds 1 MB of bytes (a Uint8Array). Baselines, for the same message:
//   encode: JSON.stringify of the Pipecat envelope as a plain object (for bytes, with the
//           platform's base64 of the bytes computed first);
//   decode: JSON.parse of the text (for bytes, plus the platform's base64 decoding).
// The platform's base64: Uint8Array.prototype.toBase64 / Uint8Array.fromBase64 where they exist,
// else Buffer in Node. Prints CPU ns per operation and the ratio (workbus / baseline) of each.
import { args, loadWorkbus, report } from "./lib/common.mjs";

const opt = args({ rounds: 15, budgetMs: 60 });
const { encodeMessage, decodeMessage } = await loadWorkbus();

const toBase64 = typeof Uint8Array.prototype.toBase64 === "function" ? (b) => b.toBase64() : (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const fromBase64 = typeof Uint8Array.fromBase64 === "function" ? (s) => Uint8Array.fromBase64(s) : (s) => new Uint8Array(Buffer.from(s, "base64"));

function records(bytes) {
  const list = [];
  for (let i = 0, size = 2; size < bytes; i++) {
    const r = { id: i, name: `item-${i}`, score: i / 7, tags: ["a", "b"], ok: i % 2 === 0, nested: { x: i, y: null } };
    list.push(r);
    size += JSON.stringify(r).length + 1;
  }
  return list;
}
const bytes = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 255);
const message = (payload) => ({ type: "BusJobRequestMessage", source: "requester", target: "worker", jobId: "0f8c3e2a-4b1d-4c5e-9f6a-7b8c9d0e1f2a", jobName: "search", payload });
const cases = {
  small: message({ query: "weather in Paris", limit: 10, options: { lang: "fr", units: "metric" } }),
  json1m: message({ records: records(1 << 20) }),
  bytes1m: message({ audio: bytes, sampleRate: 16000 }),
};

/** The plain object JSON.stringify would need to write the same text, and back to it. */
function baselines(name, m) {
  const text = encodeMessage(m);
  const envelope = JSON.parse(text);
  if (name !== "bytes1m") return { text, encode: () => JSON.stringify(envelope), decode: () => JSON.parse(text) };
  return {
    text,
    encode: () => {
      envelope.__data__.payload.audio.__data__ = toBase64(bytes);
      return JSON.stringify(envelope);
    },
    decode: () => {
      const v = JSON.parse(text);
      v.__data__.payload.audio = fromBase64(v.__data__.payload.audio.__data__);
      return v;
    },
  };
}

/**
 * ns per call of `fn`, timing a batch of `n` calls in CPU time (user + system, all threads of the
 * process): on a shared machine, time the process spends descheduled is not the code's.
 */
function batch(fn, n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / n;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const result = {};
for (const [name, m] of Object.entries(cases)) {
  const base = baselines(name, m);
  const decoded = decodeMessage(base.text);
  if (decoded?.type !== m.type) throw new Error(`${name}: decodeMessage gave ${decoded?.type}`);
  const pairs = {
    encode: [() => encodeMessage(m), base.encode],
    decode: [() => decodeMessage(base.text), base.decode],
  };
  for (const [op, [ours, theirs]] of Object.entries(pairs)) {
    // Calls per batch so that a batch takes about budget-ms.
    for (let i = 0; i < 3; i++) (ours(), theirs());
    const n = Math.max(1, Math.round((opt.budgetMs * 1e6) / Math.max(batch(ours, 3), batch(theirs, 3))));
    batch(ours, n);
    batch(theirs, n);
    const a = [];
    const b = [];
    for (let r = 0; r < opt.rounds; r++) {
      a.push(batch(ours, n));
      b.push(batch(theirs, n));
    }
    const key = `${name}_${op}`;
    result[`${key}_ns`] = median(a);
    result[`${key}_base_ns`] = median(b);
    result[`${key}_ratio`] = median(a) / median(b);
    process.stderr.write(`${key}: workbus ${(median(a) / 1000).toFixed(2)} µs, baseline ${(median(b) / 1000).toFixed(2)} µs, ${(median(a) / median(b)).toFixed(2)}×\n`);
  }
  result[`${name}_text_bytes`] = base.text.length;
}
report(result);
