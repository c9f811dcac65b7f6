// Pipecat's JSON envelope as the package encodes and decodes it (js/wire.js, with the host's
// JSON.stringify / JSON.parse and base64): the golden vectors both ways, the fuzz corpus, and the
// rules of the wire (bytes only in payload values, `__proto__` kept as data, payloads never
// changed by encoding, limits, Pipecat's numbering).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeMessage, encodeMessage, setLogger, WebSocketProxyClient, Worker } from "workbus";
import { T, startRunner, waitFor } from "./helpers.mjs";
import { checkDecode } from "./fuzz-gen.mjs";

// The repository (node-harness.mjs runs a copy of tests/node/ elsewhere and says where it is).
const repo = process.env.WORKBUS_REPO ?? join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const golden = JSON.parse(readFileSync(join(repo, "tests/fixtures/pipecat-wire.json"), "utf8"));
const LOCAL_ONLY = new Set(["BusAddWorkerMessage", "BusWorkerLocalErrorMessage"]);
const request = (payload) => ({ type: "BusJobRequestMessage", source: "a", target: "b", jobId: "j", payload });
const envelope = (data, tag = "pipecat.bus.messages.BusJobRequestMessage") => JSON.stringify({ __type__: tag, __data__: { source: "a", job_id: "j", ...data } });
const malformed = (text, what) => assert.throws(() => decodeMessage(text), (e) => e instanceof Error && e.message === `malformed Pipecat message: ${what}`);

/** A parsed envelope without Pipecat's per-process id and name, numbers to 6 decimals. */
function comparable(v, top = true) {
  if (Array.isArray(v)) return v.map((x) => comparable(x, false));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !(top === "data" && (k === "id" || k === "name"))).map(([k, x]) => [k, comparable(x, top === true && k === "__data__" ? "data" : false)]));
  }
  return typeof v === "number" ? Math.round(v * 1e6) / 1e6 : v;
}

test("every golden vector decodes and encodes back to Pipecat's JSON (ids aside)", T, () => {
  let checked = 0;
  for (const v of golden) {
    if (LOCAL_ONLY.has(v.type)) {
      assert.throws(() => decodeMessage(v.json), /local-only/, v.name);
      continue;
    }
    const m = decodeMessage(v.json);
    if (v.type === "BusMessage") {
      assert.equal(m.type, "BusDataMessage", v.name);
      continue;
    }
    assert.equal(m.type, v.type, v.name);
    assert.deepEqual(comparable(JSON.parse(encodeMessage(m))), comparable(JSON.parse(v.json)), v.name);
    checked++;
  }
  assert.ok(checked >= 45, `${checked} vectors`);
});

test("the fuzz corpus gives the outcome its name states", T, () => {
  const dir = join(repo, "tests/fuzz-corpus");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 70, `${files.length} files`);
  for (const name of files) {
    const text = readFileSync(join(dir, name), "utf8");
    const expected = { message: ["message"], unknown: ["unknown"], error: ["error"], deep: ["error"], invalid: ["error", "message"] }[name.split("-")[0]];
    assert.ok(expected?.includes(checkDecode(decodeMessage, text)), name);
  }
});

test("a class outside the catalogue is unknown whatever its data", T, () => {
  for (const data of [5, null, "x", [1], {}]) {
    assert.equal(decodeMessage(JSON.stringify({ __type__: "pipecat.bus.messages.BusNoSuchMessage", __data__: data })), null, JSON.stringify(data));
  }
  malformed(JSON.stringify({ __type__: "pipecat.bus.messages.BusJobRequestMessage", __data__: 5 }), "the data of BusJobRequestMessage must be an object");
});

test("bytes envelopes become Uint8Arrays in payloads only, when they hold standard base64", T, () => {
  const bytesOf = (b64) => decodeMessage(envelope({ payload: { b: { __type__: "bytes", __data__: b64 } } })).payload.b;
  assert.deepEqual(bytesOf("AAECAw=="), new Uint8Array([0, 1, 2, 3]));
  assert.deepEqual(bytesOf("AAECAw"), new Uint8Array([0, 1, 2, 3]), "padding is optional");
  assert.deepEqual(bytesOf(""), new Uint8Array([]));
  assert.equal(Object.getPrototypeOf(bytesOf("AAEC")), Uint8Array.prototype, "a plain Uint8Array (not a pooled Buffer)");
  for (const bad of ["A", "AAAAA", "A$==", "=AAA", "AA=A", "-_-_", "AA AA", "AAE\nC"]) {
    assert.deepEqual(bytesOf(bad), { __type__: "bytes", __data__: bad }, `${JSON.stringify(bad)} stays an envelope`);
  }
  const top = decodeMessage(envelope({ payload: { __type__: "bytes", __data__: "AAEC" } }));
  assert.deepEqual(top.payload, new Uint8Array([0, 1, 2]));
  // Outside payloads an envelope is what it is: a job id must be a string.
  malformed(envelope({ job_id: { __type__: "bytes", __data__: "AAEC" } }), "'job_id' must be a string");
});

test('"__proto__" keys stay data both ways, and encoding never changes the payload', T, () => {
  const decoded = decodeMessage('{"__type__":"pipecat.bus.messages.BusJobRequestMessage","__data__":{"source":"a","job_id":"j","payload":{"__proto__":{"__type__":"bytes","__data__":"AAEC"},"x":{"__proto__":{"polluted":true}}}}}');
  assert.equal(Object.getPrototypeOf(decoded.payload), Object.prototype);
  assert.ok(Object.hasOwn(decoded.payload, "__proto__"));
  assert.deepEqual(Object.getOwnPropertyDescriptor(decoded.payload, "__proto__").value, new Uint8Array([0, 1, 2]));
  assert.equal(Object.getPrototypeOf(decoded.payload.x), Object.prototype);
  assert.equal({}.polluted, undefined);

  const again = JSON.parse(encodeMessage(decoded));
  assert.ok(Object.hasOwn(again.__data__.payload, "__proto__"));
  assert.deepEqual(Object.getOwnPropertyDescriptor(again.__data__.payload, "__proto__").value, { __type__: "bytes", __data__: "AAEC" });

  const bytes = new Uint8Array([1, 2, 3]);
  const payload = { list: [1, { bytes }], buffer: bytes.buffer, plain: { a: 1 } };
  const text = encodeMessage(request(payload));
  assert.deepEqual(JSON.parse(text).__data__.payload, { list: [1, { bytes: { __type__: "bytes", __data__: "AQID" } }], buffer: { __type__: "bytes", __data__: "AQID" }, plain: { a: 1 } });
  assert.equal(payload.list[1].bytes, bytes, "the caller's payload is untouched");
  assert.equal(payload.buffer, bytes.buffer);
});

test("encodeMessage: payloads as JSON.stringify writes them, within 64 levels; errors name the field", T, () => {
  const payloadOf = (p) => JSON.parse(encodeMessage(request(p))).__data__.payload;
  assert.deepEqual(payloadOf({ at: new Date(0), n: [NaN, Infinity, -0], s: "é\u0000" }), { at: "1970-01-01T00:00:00.000Z", n: [null, null, 0], s: "é\u0000" });
  assert.deepEqual(payloadOf({ nested: { toJSON: () => ({ bytes: new Uint8Array([255]) }) } }), { nested: { bytes: { __type__: "bytes", __data__: "/w==" } } });
  // As JSON.stringify: properties holding undefined or a function are left out, array slots are null.
  assert.deepEqual(payloadOf({ u: undefined, f() {}, list: [undefined, () => 1] }), { list: [null, null] });
  let deep = 1;
  for (let i = 0; i < 64; i++) deep = [deep];
  assert.equal(JSON.stringify(payloadOf(deep)).length, 64 * 2 + 1);
  const refused = (payload, what) => assert.throws(() => encodeMessage(request(payload)), (e) => e instanceof TypeError && e.message === `message: payload: ${what}`);
  refused([deep], "nested deeper than 64 levels");
  const cycle = { a: 1 };
  cycle.self = cycle;
  refused(cycle, "nested deeper than 64 levels");
  refused({ n: 1n }, "a bigint or symbol cannot be sent as JSON");
  assert.throws(() => encodeMessage({ ...request(1), jobId: 7 }), { name: "TypeError", message: "message: 'jobId' must be a string" });
  assert.throws(() => encodeMessage({ type: "BusJobRequestMessage", source: "a" }), { name: "TypeError", message: "message: 'job_id' is missing" });
  assert.throws(() => encodeMessage({ type: "BusAddWorkerMessage", source: "a" }), { name: "TypeError", message: "message: BusAddWorkerMessage is local-only and cannot come from another realm" });
  assert.throws(() => encodeMessage({ type: "BusNope", source: "a" }), { name: "TypeError", message: "message: unknown message type 'BusNope'" });
});

test("fields: seconds on the wire, defaults written, absent optional fields left out, numbered as Pipecat does", T, () => {
  const ready = JSON.parse(encodeMessage({ type: "BusWorkerReadyMessage", source: "w", runner: "r", startedAt: 1500, active: true }));
  assert.deepEqual(ready.__data__, { id: ready.__data__.id, name: ready.__data__.name, source: "w", runner: "r", active: true, bridged: false, started_at: 1.5 });
  const speak = JSON.parse(encodeMessage({ type: "BusTTSSpeakMessage", source: "a", text: "hi" }));
  assert.equal(speak.__data__.append_to_context, true);
  const [a, b] = [0, 1].map(() => JSON.parse(encodeMessage({ type: "BusEndMessage", source: "x" })).__data__);
  assert.equal(b.id, a.id + 1);
  assert.match(a.name, /^BusEndMessage#\d+$/);
  assert.equal(Number(b.name.split("#")[1]), Number(a.name.split("#")[1]) + 1);
  // Pipecat's other names of a data message are accepted, and written as BusDataMessage.
  for (const type of ["BusMessage", "BusUIDataMessage"]) {
    const data = JSON.parse(encodeMessage({ type, source: "x" }));
    assert.equal(data.__type__, "pipecat.bus.messages.BusDataMessage");
    assert.match(data.__data__.name, /^BusDataMessage#\d+$/);
  }
  const back = decodeMessage(JSON.stringify(ready));
  assert.equal(back.startedAt, 1500);
  assert.equal(back.parent, null);
  malformed(envelope({ started_at: 1e306 }, "pipecat.bus.messages.BusWorkerReadyMessage").replace('"job_id":"j"', '"runner":"r"'), "'started_at' is out of range");
});

test("limits: counted in UTF-8 bytes, bytes refused before they are decoded", T, () => {
  const text = envelope({ payload: "é".repeat(100) });
  const bytes = new TextEncoder().encode(text);
  assert.equal(decodeMessage(text, { maxBytes: bytes.length }).payload.length, 100);
  assert.throws(() => decodeMessage(text, { maxBytes: bytes.length - 1 }), { message: `malformed Pipecat message: message of ${bytes.length} bytes is over the limit of ${bytes.length - 1}` });
  assert.throws(() => decodeMessage(bytes, { maxBytes: 10 }), { message: `malformed Pipecat message: message of ${bytes.length} bytes is over the limit of 10` });
  assert.throws(() => decodeMessage(envelope({ payload: [[[1]]] }), { maxDepth: 4 }), { message: "malformed Pipecat message: nested deeper than 4 levels" });
  assert.equal(decodeMessage(envelope({ payload: [[[1]]] }), { maxDepth: 5 }).payload[0][0][0], 1);
});

test("WebSocketProxyClient: Pipecat JSON both ways; an unknown type is warned about, a malformed message reported", T, async (t) => {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(data) {
      this.sent.push(new TextDecoder().decode(data));
    }
    close() {}
  }
  const warnings = [];
  setLogger((level, message) => level === "warn" && warnings.push(message));
  t.after(() => setLogger(null));
  const proxy = new WebSocketProxyClient("proxy", { url: "ws://proxy.invalid", remoteWorkerName: "remote", localWorkerName: "local", forwardMessages: ["BusWorkerErrorMessage"], WebSocket: FakeSocket, active: true });
  const local = new Worker("local");
  const received = [];
  local.on("busMessage", (m) => received.push(m));
  const runner = await startRunner(t, [proxy, local]);
  const errors = [];
  runner.bus.on("error", (e) => errors.push(e));
  await waitFor(() => sockets.length === 1, { what: "the socket" });
  const socket = sockets[0];
  socket.onopen();

  await local.sendBusErrorMessage("boom");
  await waitFor(() => socket.sent.length === 1, { what: "the message out" });
  const out = JSON.parse(socket.sent[0]);
  assert.equal(out.__type__, "pipecat.bus.messages.BusWorkerErrorMessage");
  assert.deepEqual({ ...out.__data__, id: 0, name: "" }, { id: 0, name: "", source: "local", error: "boom" });

  socket.onmessage({ data: new TextEncoder().encode(JSON.stringify({ __type__: "pipecat.bus.messages.BusDataMessage", __data__: { source: "remote", target: "local" } })).buffer });
  await waitFor(() => received.some((m) => m.type === "BusDataMessage" && m.source === "remote"), { what: "the message in" });
  socket.onmessage({ data: JSON.stringify({ __type__: "pipecat.bus.messages.BusFromTheFuture", __data__: { source: "remote", target: "local" } }) });
  assert.ok(warnings.some((w) => w.includes("outside Pipecat's catalogue") && w.includes("BusFromTheFuture")), warnings.join("\n"));
  socket.onmessage({ data: "{not json" });
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /^malformed Pipecat message: invalid JSON/);
});
