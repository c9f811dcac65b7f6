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
  const prepare = (f, index) => ({ ...f, index, values: f.values && new Set(f.values), hasDefault: "default" in f });
  const types = new Map();
  for (const [type, t] of Object.entries(s.types)) {
    const fields = t.fields.map(prepare);
    types.set(type, { type, tag: t.tag, fields, reads: t.reads.map((i) => fields[i]), count: 0 });
  }
  schema = {
    ...s,
    directions: new Set(s.directions),
    entry: s.entry.map(prepare),
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

const BASE64 = /^[A-Za-z0-9+/]*=*$/;

/** Standard base64, padding optional (as Python writes and reads it); `null` for anything else. */
function fromBase64(text) {
  if (!BASE64.test(text)) return null;
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end % 4 === 1) return null;
  const digits = end === text.length ? text : text.slice(0, end);
  if (nativeFromBase64) return Uint8Array.fromBase64(digits);
  const bytes = new Uint8Array((end * 3) >> 2);
  // Into an array of our own: a Buffer may be a view on a shared pool.
  if (Buffer) Buffer.from(bytes.buffer).write(digits, "base64");
  else {
    const binary = atob(digits);
    for (let i = 0; i < bytes.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
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
  for (const k of Object.keys(v)) {
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
  return objectOf(schema.entry, readFields(schema.entry, data, readWire, WireError, true), {});
}

/**
 * Reads the fields of `reads` (in that order, so that the first error is the engine's) from
 * `source` (under `name`, or the wire's `key` with `wire`) with `read(field, raw)`; applies the
 * rules of presence and enums. Returns the values by field index (writing order).
 */
function readFields(reads, source, read, Failure, wire) {
  const values = new Array(reads.length);
  for (const f of reads) {
    let v = source[wire ? f.key : f.name];
    if (v === undefined || v === null) {
      if (f.required !== undefined) throw new Failure(f.required);
      v = f.hasDefault ? defaultOf(f) : null;
    } else {
      v = read(f, v);
      if (f.values !== undefined && !f.values.has(v)) throw new Failure(f.invalid.split("{}").join(v));
    }
    values[f.index] = v;
  }
  return values;
}

/** Values by field index → a message object's fields. */
function objectOf(fields, values, out) {
  for (let i = 0; i < fields.length; i++) out[fields[i].name] = values[i];
  return out;
}

/** A fresh copy of a field's default (an object default must not be shared). */
const defaultOf = (f) => (f.default !== null && typeof f.default === "object" ? structuredCloneJson(f.default) : f.default);
const structuredCloneJson = (v) => JSON.parse(JSON.stringify(v));

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
  for (const k of Object.keys(root)) {
    const x = root[k];
    if (x !== null && typeof x === "object" && x !== data) checkedWalk(x, 2, maxDepth, false);
  }
  if (isObject(data)) {
    if (2 > maxDepth) throw tooDeep(maxDepth);
    const values = new Set();
    if (type) for (const f of type.fields) if (f.kind === "value") values.add(f.key);
    for (const k of Object.keys(data)) {
      const x = data[k];
      if (x !== null && typeof x === "object") {
        const y = checkedWalk(x, 3, maxDepth, values.has(k));
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
  return objectOf(type.fields, readFields(type.reads, data, readWire, WireError, true), { type: type.type });
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
        return readFields(schema.entry, e, readObject, TypeError, false);
      });
  }
  throw new TypeError(`'${name}' has an unknown kind ${f.kind}`);
}

/** Values by field index → Pipecat's `__data__` fields (Python's names, seconds), into `out`. */
function writeFields(fields, values, out) {
  for (let i = 0; i < fields.length; i++) {
    const v = values[i];
    if (v === null) continue;
    const f = fields[i];
    switch (f.kind) {
      case "time":
        out[f.key] = v / 1000;
        break;
      case "value": {
        let p;
        try {
          p = prepare(v, 0);
        } catch (e) {
          throw new TypeError(`${f.key}: ${e.message}`);
        }
        if (typeof p !== "function") out[f.key] = p;
        break;
      }
      case "entries":
        out[f.key] = v.map((e) => ({ __type__: schema.entryTag, __data__: writeFields(schema.entry, e, {}) }));
        break;
      case "direction":
        out[f.key] = { __type__: schema.directionTag, __data__: v };
        break;
      default:
        out[f.key] = v;
    }
  }
  return out;
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
  const keys = Object.keys(v);
  if (full && keys.length > 0) throw tooDeepToSend();
  let copy = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const x = v[k];
    const y = typeof x === "object" || typeof x === "bigint" || typeof x === "symbol" ? prepare(x, depth + 1) : x;
    if (y !== x && copy === null) {
      copy = {};
      for (let j = 0; j < i; j++) define(copy, keys[j], v[keys[j]]);
    }
    if (copy !== null) define(copy, k, y);
  }
  return copy ?? v;
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
  const values = readFields(type.reads, message, readObject, TypeError, false);
  // Pipecat numbers every message (process-wide) and names it `<Class>#<n>` (per class).
  const data = { id: ++lastId, name: `${name}#${type.count++}` };
  writeFields(type.fields, values, data);
  return JSON.stringify({ __type__: type.tag, __data__: data });
}

export { WireError };
