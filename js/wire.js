// Pipecat's JSON envelope with the host's JSON.stringify / JSON.parse and base64.
//
// Which messages exist, their fields (Pipecat's names, in declaration order), which are
// required or defaulted, the enums, the tags and the limits come from ./wire-schema.js, generated
// from the engine's definition of every message (src/wire/schema.rs; tests/wire.rs keeps it so).
// This file only reads and writes JSON values by kind: seconds on the wire and milliseconds
// here, bytes as `{"__type__": "bytes", "__data__": "<base64>"}`, finite numbers only, nesting
// and size within the limits before anything is copied, `__proto__` keys kept as data.

import SCHEMA from "./wire-schema.js";

/** A malformed message: `message` says what is wrong. */
class WireError extends Error {}

let schema = null;

function tables() {
  if (schema) return schema;
  const s = SCHEMA;
  const field = (f) => ({ ...f, values: f.values && new Set(f.values), hasDefault: "default" in f });
  const types = new Map();
  for (const [type, t] of Object.entries(s.types)) {
    const fields = t.fields.map(field);
    const values = new Set(fields.filter((f) => f.kind === "value").map((f) => f.key));
    types.set(type, { type, tag: t.tag, fields, reads: t.reads.map((i) => fields[i]), values, count: 0 });
  }
  for (const [alias, type] of Object.entries(s.aliases)) types.set(alias, types.get(type));
  const entry = s.entry.map(field);
  schema = {
    ...s,
    directions: new Set(s.directions),
    entry: { fields: entry, reads: entry },
    tags: new Map(Object.entries(s.tags).map(([tag, type]) => [tag, types.get(type)])),
    refused: new Map(Object.entries(s.refused)),
    types,
  };
  return schema;
}

// ----- base64 (the platform's) -----------------------------------------------------------------

const Buffer = globalThis.Buffer;
const nativeToBase64 = typeof Uint8Array.prototype.toBase64 === "function";
const nativeFromBase64 = typeof Uint8Array.fromBase64 === "function";

function toBase64(bytes) {
  if (nativeToBase64) return bytes.toBase64();
  if (Buffer) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Standard base64, padding optional (as Python writes and reads it); `null` for anything else.
 * The platform's decoders skip what they cannot read (whitespace; Node's Buffer: any stray
 * character), which shows as a shorter result; Buffer also reads the URL alphabet's - and _.
 */
function fromBase64(text) {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end % 4 === 1) return null;
  const digits = end === text.length ? text : text.slice(0, end);
  if (digits.indexOf("=") !== -1) return null;
  const size = (end * 3) >> 2;
  let bytes;
  try {
    if (nativeFromBase64) bytes = Uint8Array.fromBase64(digits);
    else if (Buffer) {
      if (digits.indexOf("-") !== -1 || digits.indexOf("_") !== -1) return null;
      const decoded = Buffer.from(digits, "base64");
      // A copy of our own: a small Buffer is a view on a shared pool.
      if (decoded.length === size) bytes = new Uint8Array(decoded);
    } else {
      const binary = atob(digits);
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    }
  } catch {
    return null;
  }
  return bytes !== undefined && bytes.length === size ? bytes : null;
}

// ----- limits -----------------------------------------------------------------------------------

/** UTF-8 length of `text`, counted without copying it (a lone surrogate becomes U+FFFD: 3). */
function utf8Length(text) {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

function checkSize(text, maxBytes) {
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count only when it matters.
  if (text.length * 3 <= maxBytes) return;
  const bytes = text.length > maxBytes ? text.length : utf8Length(text);
  if (bytes > maxBytes) throw new WireError(`message of ${text.length > maxBytes ? "at least " : ""}${bytes} bytes is over the limit of ${maxBytes}`);
}

const tooDeep = (maxDepth) => new WireError(`nested deeper than ${maxDepth} levels`);

/**
 * Checks the nesting of a parsed value (`depth` counts the containers around it, itself
 * included) and, with `bytes`, turns bytes envelopes into Uint8Arrays, in place. Returns the
 * value to put where `v` was.
 */
function walk(v, depth, maxDepth, bytes) {
  if (depth > maxDepth) throw tooDeep(maxDepth);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === "object") {
        const y = walk(x, depth + 1, maxDepth, bytes);
        if (y !== x) v[i] = y;
      }
    }
    return v;
  }
  if (bytes && v.__type__ === schema.bytesTag && typeof v.__data__ === "string") {
    const b = fromBase64(v.__data__);
    if (b) return b;
  }
  for (const k in v) {
    const x = v[k];
    if (x !== null && typeof x === "object") {
      const y = walk(x, depth + 1, maxDepth, bytes);
      // An own property (even "__proto__", which JSON.parse made one): plain assignment sets it.
      if (y !== x) v[k] = y;
    }
  }
  return v;
}

/** JSON text → value, within the limits; bytes envelopes are left as they are. */
export function parseWire(text, maxBytes, maxDepth) {
  const s = tables();
  maxBytes ??= s.maxBytes;
  maxDepth ??= s.maxDepth;
  checkSize(text, maxBytes);
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new WireError(`invalid JSON: ${e.message}`);
  }
  if (value !== null && typeof value === "object") checkedWalk(value, 1, maxDepth, false);
  return value;
}

function checkedWalk(v, depth, maxDepth, bytes) {
  try {
    return walk(v, depth, maxDepth, bytes);
  } catch (e) {
    // A maxDepth deeper than the stack allows: still refused, never a RangeError.
    if (e instanceof RangeError) throw tooDeep(maxDepth);
    throw e;
  }
}

// ----- decoding ----------------------------------------------------------------------------------

/** Thrown on a hot path to say "find the error": readFields names it, in the engine's order. */
const INVALID = Symbol("invalid");

const isTyped = (v) => v !== null && typeof v === "object" && typeof v.__type__ === "string" && v.__data__ !== undefined;
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** One field of Pipecat's `__data__` (snake_case, seconds) as a message object holds it. */
function readWire(f, raw) {
  const key = f.key;
  switch (f.kind) {
    case "string":
      if (typeof raw !== "string") throw new WireError(`'${key}' must be a string`);
      return raw;
    case "boolean":
      if (typeof raw !== "boolean") throw new WireError(`'${key}' must be a boolean`);
      return raw;
    case "number":
      if (typeof raw !== "number" || !Number.isFinite(raw)) throw new WireError(`'${key}' must be a finite number`);
      return raw;
    case "time": {
      if (typeof raw !== "number" || !Number.isFinite(raw)) throw new WireError(`'${key}' must be a finite number`);
      const ms = raw * 1000;
      if (!Number.isFinite(ms)) throw new WireError(`'${key}' is out of range`);
      return ms;
    }
    case "value":
      return raw;
    case "strings":
      if (!Array.isArray(raw)) throw new WireError(`'${key}' must be a list`);
      for (const s of raw) if (typeof s !== "string") throw new WireError(`'${key}' must hold strings`);
      return raw;
    case "entries":
      if (!Array.isArray(raw)) throw new WireError(`'${key}' must be a list`);
      return raw.map(readWireEntry);
    case "direction": {
      const d = isTyped(raw) ? raw.__data__ : raw;
      if (typeof d !== "string") throw new WireError(`'${key}' must be a FrameDirection`);
      if (!schema.directions.has(d)) throw new WireError(`unknown frame direction '${d}'`);
      return d;
    }
  }
  throw new WireError(`'${key}' has an unknown kind ${f.kind}`);
}

function readWireEntry(item) {
  let data = item;
  if (isTyped(item)) {
    if (item.__type__ !== schema.entryTag) throw new WireError(`a registry entry must be a WorkerRegistryEntry, not '${item.__type__}'`);
    data = item.__data__;
  }
  if (!isObject(data)) throw new WireError("a registry entry must be an object");
  return readFields(schema.entry, data, readWire, WireError, true, {}, putObject);
}

/** A field's value in `source` (under its wire `key` or its `name`) read with `read`, or its default. */
function fieldOf(f, source, read, Failure, wire) {
  const v = source[wire ? f.key : f.name];
  if (v === undefined || v === null) {
    if (f.required !== undefined) throw new Failure(f.required);
    return f.hasDefault ? defaultOf(f) : null;
  }
  const value = read(f, v);
  if (f.values !== undefined && !f.values.has(value)) throw new Failure(f.invalid.split("{}").join(value));
  return value;
}

/**
 * Reads the fields of `record` ({ fields, reads }) from `source` with `read(field, raw)` and
 * `put(out, field, value)`s them in writing order. When a field is wrong, the error thrown is
 * the one the engine reports first: fields checked in reading order.
 */
function readFields(record, source, read, Failure, wire, out, put) {
  try {
    for (const f of record.fields) put(out, f, fieldOf(f, source, read, Failure, wire));
  } catch (e) {
    for (const f of record.reads) fieldOf(f, source, read, Failure, wire);
    throw e;
  }
  return out;
}

const putObject = (out, f, v) => {
  out[f.name] = v;
};

/** A fresh copy of a field's default (an object default must not be shared). */
const defaultOf = (f) => (f.default !== null && typeof f.default === "object" ? copyJson(f.default) : f.default);
const copyJson = (v) => JSON.parse(JSON.stringify(v));

/**
 * Pipecat's JSON text → a message object (`{ type, source, target, ...fields }`), or `null` for
 * a type outside the catalogue. Throws a WireError naming what is malformed.
 */
export function decodeWire(text, maxBytes, maxDepth) {
  const s = tables();
  maxBytes ??= s.maxBytes;
  maxDepth ??= s.maxDepth;
  checkSize(text, maxBytes);
  let root;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new WireError(`invalid JSON: ${e.message}`);
  }
  if (!isTyped(root)) {
    if (root !== null && typeof root === "object") checkedWalk(root, 1, maxDepth, false);
    throw new WireError("not a typed message (no __type__/__data__)");
  }
  const type = s.tags.get(root.__type__);
  const data = root.__data__;
  // The envelope's nesting, then the data's: bytes envelopes become Uint8Arrays in values only.
  if (1 > maxDepth) throw tooDeep(maxDepth);
  for (const k in root) {
    const x = root[k];
    if (x !== null && typeof x === "object" && x !== data) checkedWalk(x, 2, maxDepth, false);
  }
  if (isObject(data)) {
    if (2 > maxDepth) throw tooDeep(maxDepth);
    const values = type?.values;
    for (const k in data) {
      const x = data[k];
      if (x !== null && typeof x === "object") {
        const y = checkedWalk(x, 3, maxDepth, values !== undefined && values.has(k));
        if (y !== x) data[k] = y;
      }
    }
  } else if (data !== null && typeof data === "object") checkedWalk(data, 2, maxDepth, false);
  const refusal = s.refused.get(root.__type__);
  if (refusal !== undefined) {
    if (!isObject(data)) throw new WireError(`the data of ${root.__type__.slice(root.__type__.lastIndexOf(".") + 1)} must be an object`);
    throw new WireError(refusal);
  }
  if (!type) return null;
  if (!isObject(data)) throw new WireError(`the data of ${root.__type__.slice(root.__type__.lastIndexOf(".") + 1)} must be an object`);
  const out = { type: type.type };
  // readFields(type, data, readWire, WireError, true, out, putObject), inlined: the hot path.
  try {
    for (const f of type.fields) {
      const v = data[f.key];
      if (v === undefined || v === null) {
        if (f.required !== undefined) throw INVALID;
        out[f.name] = f.hasDefault ? defaultOf(f) : null;
      } else {
        const value = readWire(f, v);
        if (f.values !== undefined && !f.values.has(value)) throw INVALID;
        out[f.name] = value;
      }
    }
  } catch (e) {
    // The error the engine reports first.
    readFields(type, data, readWire, WireError, true, {}, putObject);
    throw e === INVALID ? new WireError("malformed") : e;
  }
  return out;
}

// ----- encoding ----------------------------------------------------------------------------------

let lastId = 0;

/** One field of a message object (camelCase, milliseconds), checked as the engine checks it. */
function readObject(f, v) {
  const name = f.name;
  switch (f.kind) {
    case "string":
    case "direction":
      if (typeof v !== "string") throw new TypeError(`'${name}' must be a string`);
      if (f.kind === "direction" && !schema.directions.has(v)) throw new TypeError(`unknown frame direction '${v}'`);
      return v;
    case "boolean":
      if (typeof v !== "boolean") throw new TypeError(`'${name}' must be a boolean`);
      return v;
    case "number":
    case "time":
      if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError(`'${name}' must be a finite number`);
      return v;
    case "value":
      return v;
    case "strings":
      if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new TypeError(`'${name}' must be an array of strings`);
      return v;
    case "entries":
      if (!Array.isArray(v)) throw new TypeError(`'${f.key}' must be an array`);
      return v.map((e) => {
        if (e === null || (typeof e !== "object" && typeof e !== "function")) throw new TypeError(`each of '${f.key}' must be an object`);
        return { __type__: schema.entryTag, __data__: readFields(schema.entry, e, readObject, TypeError, false, {}, putWire) };
      });
  }
  throw new TypeError(`'${name}' has an unknown kind ${f.kind}`);
}

/** A field of a message object as Pipecat's `__data__` holds it (Python's name, seconds); none left out. */
function putWire(out, f, v) {
  if (v === null) return;
  switch (f.kind) {
    case "time":
      out[f.key] = v / 1000;
      return;
    case "value": {
      let p;
      try {
        p = prepare(v, 0);
      } catch (e) {
        throw new TypeError(`${f.key}: ${e.message}`);
      }
      if (typeof p !== "function") out[f.key] = p;
      return;
    }
    case "direction":
      out[f.key] = { __type__: schema.directionTag, __data__: v };
      return;
    default:
      out[f.key] = v;
  }
}

/**
 * A payload made ready for JSON.stringify: bytes become envelopes (a copy of each object on the
 * way to one, the caller's values untouched), `toJSON` is applied, nesting is limited as on
 * decoding.
 */
function prepare(v, depth) {
  if (typeof v === "bigint" || typeof v === "symbol") throw new TypeError("a bigint or symbol cannot be sent as JSON");
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return { __type__: schema.bytesTag, __data__: toBase64(v) };
  if (v instanceof ArrayBuffer) return { __type__: schema.bytesTag, __data__: toBase64(new Uint8Array(v)) };
  const full = depth >= schema.maxDepth;
  if (Array.isArray(v)) {
    if (full && v.length > 0) throw tooDeepToSend();
    let copy = null;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = typeof x === "object" || typeof x === "bigint" || typeof x === "symbol" ? prepare(x, depth + 1) : x;
      if (y !== x && copy === null) copy = v.slice(0, i);
      if (copy !== null) copy.push(y);
    }
    return copy ?? v;
  }
  if (typeof v.toJSON === "function") {
    if (full) throw tooDeepToSend();
    return prepare(v.toJSON(), depth + 1);
  }
  if (full && Object.keys(v).length > 0) throw tooDeepToSend();
  // Most payloads need nothing: look without allocating, copy only when a value changes.
  for (const k in v) {
    const x = v[k];
    if (typeof x === "object" || typeof x === "bigint" || typeof x === "symbol") {
      const y = prepare(x, depth + 1);
      if (y !== x) return copyOf(v, k, y, depth);
    }
  }
  return v;
}

/** A copy of object `v` (its own enumerable keys, in order) with `changed` prepared as `y`. */
function copyOf(v, changed, y, depth) {
  const copy = {};
  for (const k of Object.keys(v)) {
    const x = v[k];
    define(copy, k, k === changed ? y : typeof x === "object" || typeof x === "bigint" || typeof x === "symbol" ? prepare(x, depth + 1) : x);
  }
  return copy;
}

const tooDeepToSend = () => new TypeError(`nested deeper than ${schema.maxDepth} levels`);

/** `o[k] = v`, as an own property even for "__proto__". */
function define(o, k, v) {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** A message object → Pipecat's JSON text. Throws a TypeError naming what is wrong. */
export function encodeWire(message) {
  const s = tables();
  if (message === null || typeof message !== "object" || Array.isArray(message)) throw new TypeError("a bus message must be an object");
  const name = message.type;
  if (name === undefined || name === null) throw new TypeError("'type' is missing");
  if (typeof name !== "string") throw new TypeError("'type' must be a string");
  const type = s.types.get(name);
  if (!type) throw new TypeError(s.refused.get(name) ?? `unknown message type '${name}'`);
  // Pipecat numbers every message (process-wide) and names it `<Class>#<n>` (per class).
  const data = { id: lastId + 1, name: `${type.type}#${type.count}` };
  // readFields(type, message, readObject, TypeError, false, data, putWire), inlined: the hot path.
  try {
    for (const f of type.fields) {
      const v = message[f.name];
      if (v === undefined || v === null) {
        if (f.required !== undefined) throw INVALID;
        if (f.hasDefault) putWire(data, f, defaultOf(f));
      } else {
        const value = readObject(f, v);
        if (f.values !== undefined && !f.values.has(value)) throw INVALID;
        putWire(data, f, value);
      }
    }
  } catch (e) {
    // The error the engine reports first.
    readFields(type, message, readObject, TypeError, false, {}, putWire);
    throw e === INVALID ? new TypeError("malformed") : e;
  }
  lastId++;
  type.count++;
  return JSON.stringify({ __type__: type.tag, __data__: data });
}

export { WireError };
