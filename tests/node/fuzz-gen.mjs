// Seeded input generators and property checks for fuzzing `decodeMessage` and the structured-
// clone reader of linked buses. Shared by fuzz-decode.test.mjs (a few thousand inputs on every
// test run) and tests/fuzz/decode.mjs (scripts/fuzz: many more, plus tests/fixtures and
// tests/fuzz-corpus). Pure: no import of the package, so both can pass in what they test.

/** A few real Pipecat 1.14 messages (from tests/fixtures/pipecat-wire.json). */
export const GOLDEN = [
  '{"__type__":"pipecat.bus.messages.BusFrameMessage","__data__":{"id":2,"name":"BusFrameMessage#0","source":"acme","target":"assistant","frame":{"__type__":"pipecat.frames.frames.InputAudioRawFrame","__data__":{"audio":{"__type__":"bytes","__data__":"AAECAw=="},"sample_rate":16000,"num_channels":1,"num_frames":2,"id":1001,"name":"InputAudioRawFrame#0","metadata":{},"interruptible":true}},"direction":{"__type__":"pipecat.processors.frame_processor.FrameDirection","__data__":"UPSTREAM"},"bridge":"voice"}}',
  '{"__type__":"pipecat.bus.messages.BusTTSSpeakMessage","__data__":{"id":3,"name":"BusTTSSpeakMessage#0","source":"ui","target":"voice","text":"Bonjour \\u00e0 tous","append_to_context":false}}',
  '{"__type__":"pipecat.bus.messages.BusFlushProgressMessage","__data__":{"id":4,"name":"BusFlushProgressMessage#0","source":"a","flush_id":7}}',
  '{"__type__":"pipecat.bus.messages.BusWorkerRegistryMessage","__data__":{"id":9,"name":"BusWorkerRegistryMessage#0","source":"runner-a","runner":"runner-a","workers":[{"__type__":"pipecat.registry.types.WorkerRegistryEntry","__data__":{"name":"acme","active":true,"bridged":false,"started_at":1700000000.5}},{"__type__":"pipecat.registry.types.WorkerRegistryEntry","__data__":{"name":"child","parent":"acme","active":false,"bridged":true}}]}}',
  '{"__type__":"pipecat.bus.messages.BusWorkerReadyMessage","__data__":{"id":10,"name":"BusWorkerReadyMessage#0","source":"acme","runner":"runner-a","parent":"root","active":true,"bridged":false,"started_at":1700000000.25}}',
  '{"__type__":"pipecat.bus.messages.BusJobRequestMessage","__data__":{"id":12,"name":"BusJobRequestMessage#0","source":"parent","target":"worker","job_id":"t-1","job_name":"search","payload":{"key":"value","audio":{"__type__":"bytes","__data__":"AAEC"},"n":[1,2.5,null,true]}}}',
  '{"__type__":"pipecat.bus.messages.BusJobResponseUrgentMessage","__data__":{"id":14,"name":"BusJobResponseUrgentMessage#0","source":"worker","target":"parent","job_id":"t-1","status":"completed","response":{"ok":true}}}',
  '{"__type__":"pipecat.bus.messages.BusJobUpdateMessage","__data__":{"id":15,"name":"BusJobUpdateMessage#0","source":"worker","target":"parent","job_id":"t-1","update":{"progress":0.5}}}',
  '{"__type__":"pipecat.bus.ui.messages.BusUIJobGroupStartedMessage","__data__":{"id":30,"name":"BusUIJobGroupStartedMessage#0","source":"ui","job_id":"g-1","workers":["a","b"],"label":"Search","cancellable":true,"at":1700000000.0}}',
  '{"__type__":"pipecat.bus.ui.messages.BusUIJobCompletedMessage","__data__":{"id":33,"name":"BusUIJobCompletedMessage#0","source":"ui","job_id":"g-1","worker_name":"a","status":"completed","response":{"r":1},"at":1700000001.0}}',
  '{"__type__":"pipecat.bus.messages.BusCancelMessage","__data__":{"id":40,"name":"BusCancelMessage#0","source":"root","reason":"user hung up"}}',
  '{"__type__":"pipecat.bus.messages.BusAddWorkerMessage","__data__":{"id":41,"name":"BusAddWorkerMessage#0","source":"root"}}',
];

export const TYPES = [
  "BusDataMessage", "BusSystemMessage", "BusFrameMessage", "BusTTSSpeakMessage", "BusFlushProgressMessage",
  "BusActivateWorkerMessage", "BusDeactivateWorkerMessage", "BusEndMessage", "BusEndWorkerMessage", "BusCancelMessage",
  "BusCancelWorkerMessage", "BusWorkerRegistryMessage", "BusWorkerReadyMessage", "BusWorkerErrorMessage",
  "BusJobRequestMessage", "BusJobResponseMessage", "BusJobResponseUrgentMessage", "BusJobUpdateMessage",
  "BusJobUpdateUrgentMessage", "BusJobUpdateRequestMessage", "BusJobCancelMessage", "BusJobStreamStartMessage",
  "BusJobStreamDataMessage", "BusJobStreamEndMessage", "BusUIEventMessage", "BusUICommandMessage",
  "BusUIJobGroupStartedMessage", "BusUIJobUpdateMessage", "BusUIJobCompletedMessage", "BusUIJobGroupCompletedMessage",
];
const LOCAL_TYPES = ["BusAddWorkerMessage", "BusWorkerLocalErrorMessage"];
const HOSTILE_TAGS = [
  "os.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "pickle.loads", "importlib.import_module",
  "pipecat.bus.messages.BusLocalMessage", "pipecat.bus.messages.__class__", "pipecat.bus.messages.", "pipecat.bus.messages",
  "pipecat.frames.frames.TextFrame", "bytes", "", "__proto__", "constructor",
];
const KEYS = [
  "source", "target", "frame", "direction", "bridge", "text", "append_to_context", "flush_id", "args", "reason", "runner",
  "workers", "parent", "active", "bridged", "started_at", "error", "job_id", "job_name", "payload", "status", "response",
  "update", "data", "event_name", "command_name", "label", "cancellable", "at", "worker_name", "__type__", "__data__",
  "__proto__", "constructor", "toJSON",
];
const NUMBERS = [0, -0, 1, -1, 0.5, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, 1e21, NaN, Infinity, -Infinity];
const NUMBER_TEXTS = ["1e400", "-1e400", "1e-400", "-0", "0.0000000000000000000001", "123456789012345678901234567890"];
const BAD_BASE64 = ["A", "AAAAA", "$$$$", "A$==", "=AAA", "AA=A", "-_-_", "===="];
const TOKENS = ["{", "}", "[", "]", ",", ":", '"', "\\", "null", "true", "1e999", "-0", '"__type__"', '"__data__"', "\\u0000", "\\ud800", "\u0000", "\uffff", '{"__type__":"os.system","__data__":"id"}'];

/** SplitMix-like 32-bit generator (mulberry32): input `i` of seed `s` is reproducible alone. */
export function rngFor(seed, i) {
  let a = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n) => Math.floor(next() * n);
  return {
    next,
    below,
    chance: (p) => next() < p,
    pick: (list) => list[below(list.length)],
    /** 0..max, log-uniform: mostly small, sometimes large. */
    size: (max) => below(Math.min(max, 2 ** below(Math.log2(max + 1) + 1)) + 1),
  };
}

function str(r) {
  switch (r.below(6)) {
    case 0: return r.pick(["", "completed", "failed", "DOWNSTREAM", "UPSTREAM", "done", "\u0000", "\ud800", "\u{1f600}", "é"]);
    case 1: return r.pick(KEYS);
    case 2: return r.pick(HOSTILE_TAGS);
    case 3: return "x".repeat(r.size(1 << 15));
    case 4: return Array.from({ length: r.size(32) }, () => String.fromCharCode(r.below(0x10000))).join("");
    default: return Array.from({ length: r.size(12) }, () => String.fromCharCode(97 + r.below(26))).join("");
  }
}

function scalar(r) {
  switch (r.below(4)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.chance(0.5) ? r.pick(NUMBERS) : r.below(1000);
    default: return str(r);
  }
}

function tag(r) {
  switch (r.below(4)) {
    case 0: return `pipecat.bus.${r.chance(0.5) ? "" : "ui."}messages.${r.pick([...TYPES, ...LOCAL_TYPES, "BusMessage", "BusUIDataMessage"])}`;
    case 1: return r.pick(HOSTILE_TAGS);
    case 2: return `pipecat.bus.messages.${r.pick(TYPES)}`;
    default: return str(r);
  }
}

/** A JSON-able value: free-form, with typed and bytes envelopes. */
export function randomValue(r, depth = 5, width = 6) {
  if (depth <= 0) return scalar(r);
  switch (r.below(8)) {
    case 0: case 1: case 2: return scalar(r);
    case 3: return { __type__: "bytes", __data__: r.chance(0.5) ? r.pick(BAD_BASE64) : r.chance(0.5) ? "AAEC" : randomValue(r, 1) };
    case 4: return { __type__: tag(r), __data__: randomValue(r, depth - 1, width) };
    case 5: return Array.from({ length: r.size(width) }, () => randomValue(r, depth - 1, width));
    default: {
      const o = {};
      for (let i = r.size(width); i > 0; i--) Object.defineProperty(o, r.chance(0.7) ? r.pick(KEYS) : str(r), { value: randomValue(r, depth - 1, width), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

function nest(r, v, n) {
  const objects = r.chance(0.5);
  for (let i = 0; i < n; i++) v = objects ? { a: v } : [v];
  return v;
}

/** Replaces a random node of a parsed JSON value; returns the new root. */
function mutateValue(r, root) {
  const nodes = [];
  const walk = (v, parent, key) => {
    nodes.push([parent, key]);
    if (v && typeof v === "object" && nodes.length < 2000) for (const k of Object.keys(v)) walk(v[k], v, k);
  };
  walk(root, null, null);
  const [parent, key] = r.pick(nodes);
  const old = parent === null ? root : parent[key];
  let value;
  switch (r.below(9)) {
    case 0: value = scalar(r); break;
    case 1: value = randomValue(r, 4, 6); break;
    case 2: value = nest(r, old, r.size(200)); break;
    case 3: value = { __type__: tag(r), __data__: old }; break;
    case 4: value = "é".repeat(r.size(1 << 14)); break;
    case 5: value = Array.from({ length: r.size(5000) }, () => 0); break;
    case 6:
      if (old && typeof old === "object" && !Array.isArray(old)) {
        const keys = Object.keys(old);
        if (keys.length && r.chance(0.5)) delete old[r.pick(keys)];
        else Object.defineProperty(old, r.pick(KEYS), { value: randomValue(r, 2), enumerable: true, writable: true, configurable: true });
        value = old;
      } else value = scalar(r);
      break;
    case 7: value = { __type__: "bytes", __data__: r.pick(BAD_BASE64) }; break;
    default:
      if (root && typeof root === "object" && "__type__" in root) root.__type__ = tag(r);
      return root;
  }
  if (parent === null) return value;
  parent[key] = value;
  return root;
}

/** One byte-level (UTF-16 unit) mutation of JSON text. */
function mutateText(r, text) {
  const at = r.below(text.length + 1);
  switch (r.below(6)) {
    case 0: return text.slice(0, at);
    case 1: return text.slice(0, at) + text.slice(at + r.size(64));
    case 2: { const chunk = text.slice(at, at + r.size(256)); const to = r.below(text.length + 1); return text.slice(0, to) + chunk + text.slice(to); }
    case 3: return text.slice(0, at) + r.pick(TOKENS) + text.slice(at);
    case 4: return text.slice(0, at) + r.pick(NUMBER_TEXTS) + text.slice(at);
    default: return text.slice(0, at) + String.fromCharCode(r.below(128)) + text.slice(at + 1);
  }
}

/** Input `i` of `seed` for decodeMessage: a string (or, rarely, UTF-8 bytes). */
export function decodeInput(seed, i, golden = GOLDEN) {
  const r = rngFor(seed, i);
  const base = r.pick(golden);
  let text;
  switch (r.below(8)) {
    case 0: case 1: {
      text = base;
      for (let n = 1 + r.size(4); n > 0; n--) text = mutateText(r, text);
      break;
    }
    case 2: case 3: case 4: {
      let v = JSON.parse(base);
      for (let n = 1 + r.size(5); n > 0; n--) v = mutateValue(r, v);
      text = JSON.stringify(v);
      if (r.chance(0.2)) text = mutateText(r, text);
      break;
    }
    case 5: {
      const data = {};
      for (let n = r.size(10); n > 0; n--) data[r.pick(KEYS)] = randomValue(r, 3, 4);
      if (r.chance(0.9)) data.source = "s";
      text = JSON.stringify({ __type__: tag(r), __data__: data });
      break;
    }
    case 6: text = JSON.stringify(randomValue(r, 7, 10)) ?? "null"; break;
    default: text = r.chance(0.5) ? str(r) : Array.from({ length: r.size(200) }, () => String.fromCharCode(r.below(0x10000))).join("");
  }
  return r.chance(0.05) ? new TextEncoder().encode(text) : text;
}

/**
 * Checks one decodeMessage call: a message object or null, or an Error (not a RangeError or a
 * WebAssembly.RuntimeError: those mean the wasm side trapped or overflowed). Returns
 * "message" | "unknown" | "error", or throws an Error describing the broken property.
 */
export function checkDecode(decodeMessage, input, limits) {
  let result;
  try {
    result = decodeMessage(input, limits);
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error ${String(e)}`);
    if (e instanceof RangeError || e.constructor?.name === "RuntimeError") throw new Error(`threw ${e.constructor.name}: ${e.message}`);
    if (!/^malformed Pipecat message: ./.test(e.message)) throw new Error(`an error not naming the problem: ${e.constructor.name}: ${e.message}`);
    return "error";
  }
  if (result === null) return "unknown";
  if (typeof result !== "object" || typeof result.type !== "string" || typeof result.source !== "string") {
    throw new Error(`returned ${typeof result}: ${String(JSON.stringify(result)).slice(0, 200)}`);
  }
  if (!TYPES.includes(result.type)) throw new Error(`decoded a message of type ${result.type}`);
  return "message";
}

/**
 * A structured-clone message object that is malformed for sure (a linked bus must drop it and
 * report it on "error"): not an object, no / unknown / local-only type, a bad source, or a field
 * of the wrong type on a type that requires it.
 */
export function malformedObject(seed, i) {
  const r = rngFor(seed, i);
  const body = () => {
    const o = {};
    for (let n = r.size(6); n > 0; n--) o[r.pick(["jobId", "jobName", "payload", "status", "text", "flushId", "runner", "workers", "direction", "at"])] = randomValue(r, 3, 4);
    return o;
  };
  switch (r.below(9)) {
    case 0: return r.pick([null, 0, 1.5, "garbage", "", true, [], [{ type: "BusDataMessage", source: "s" }], new Uint8Array([1, 2])]);
    case 1: return { ...body(), source: "s" };
    case 2: return { ...body(), type: r.pick([...HOSTILE_TAGS, "busdatamessage", "BusMessage ", "BusLocalMessage"]), source: "s" };
    case 3: return { ...body(), type: r.pick(LOCAL_TYPES), source: "s" };
    case 4: return { ...body(), type: r.pick([1, null, true, {}, ["BusDataMessage"]]), source: "s" };
    case 5: return { ...body(), type: r.pick(TYPES), source: r.pick([undefined, null, 1, {}, [], true]) };
    case 6: return { ...body(), type: r.pick(TYPES), source: "s", target: r.pick([1, {}, [], true]) };
    case 7: return { ...body(), type: r.pick(["BusJobRequestMessage", "BusJobUpdateRequestMessage", "BusJobCancelMessage", "BusJobStreamDataMessage"]), source: "s", jobId: r.pick([undefined, null, 1, {}, [], true]) };
    default: {
      const [type, field, bad] = r.pick([
        ["BusFlushProgressMessage", "flushId", [undefined, "1", NaN, Infinity, -Infinity, {}, true]],
        ["BusJobResponseMessage", "status", ["done", 1, null, "COMPLETED"]],
        ["BusTTSSpeakMessage", "text", [undefined, 1, {}, []]],
        ["BusTTSSpeakMessage", "appendToContext", ["false", 0, {}]],
        ["BusFrameMessage", "direction", ["SIDEWAYS", 1, {}, "downstream"]],
        ["BusWorkerRegistryMessage", "workers", ["a", {}, 1, [1], [null], [{}], [{ name: 1 }]]],
        ["BusWorkerReadyMessage", "runner", [undefined, 1, {}]],
        ["BusWorkerReadyMessage", "startedAt", ["now", NaN, Infinity, {}]],
        ["BusUIJobGroupStartedMessage", "workers", ["a", [1], [null], {}]],
        ["BusUIJobUpdateMessage", "at", ["now", NaN, {}, true]],
      ]);
      const o = { type, source: "s", jobId: "j", status: "completed", text: "t", runner: "r", flushId: 1 };
      o[field] = r.pick(bad);
      if (o[field] === undefined) delete o[field];
      return o;
    }
  }
}
