#!/usr/bin/env node
// Shortens the function names in a .wasm's "name" section, in place, so that stack traces
// through the engine say where they are (`Requester::on_message`, not `wasm-function[812]`)
// for a fraction of the full section's size: only workbus's own functions keep a name (std's,
// js-sys's and the glue's do not), and hashes, generic arguments, trait qualifications and
// module paths go. Every other name subsection (types, globals, data) is dropped.
//
// It also gives the functions the wasm imports from its glue short names (`_w0`, `_w1`, …) in
// place of wasm-bindgen's (`__wbg_get_2080c49015e35254`), in the .wasm and in the glue beside it
// (core.js): the glue a browser downloads spells each of them once, and the hashes in them do
// not compress. Both wasm-bindgen targets build the same module, so both get the same names.
//
// Usage: node scripts/wasm-names.mjs <file.wasm>...   (rewrites each and the core.js beside it)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** `Requester::on_message`, from `workbus::core::job::Requester<V>::on_message::h0123…`. */
export function shortName(full) {
  // wasm-bindgen's closure adapters are named after their whole signature.
  if (full.startsWith("Closure(")) return "wasm-bindgen closure";
  const unhashed = full.replace(/::h[0-9a-f]{16}/g, "").replace(/_[0-9a-f]{16}\b/g, "");
  const segments = stripAngles(unhashed).split("::").filter(Boolean);
  // An import's glue name (`__wbg_push`) adds nothing to the Rust path it stands for.
  const path = segments.length > 1 ? segments.filter((seg, i) => i === 0 || !seg.startsWith("__wbg_")) : segments;
  // From the last type (CamelCase) on; without one, the module and the function.
  let from = -1;
  path.forEach((seg, i) => {
    if (/^[A-Z]/.test(seg)) from = i;
  });
  if (from < 0) {
    const named = path.findLastIndex((seg) => !seg.startsWith("{{"));
    from = Math.max(0, named - 1);
  }
  return path.slice(from).join("::") || unhashed;
}

/**
 * Drops generic arguments (`Vec<T>` → `Vec`) and keeps the type of a qualified path
 * (`<A as Trait>::f` → `A::f`).
 */
function stripAngles(s) {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "<") {
      out += s[i];
      continue;
    }
    let depth = 1;
    let j = i + 1;
    for (; j < s.length && depth > 0; j++) {
      if (s[j] === "<") depth++;
      else if (s[j] === ">" && s[j - 1] !== "-") depth--;
    }
    const inner = s.slice(i + 1, j - 1);
    const qualified = i === 0 || s.slice(Math.max(0, i - 2), i) === "::";
    if (qualified) {
      const as = topLevelAs(inner);
      out += stripAngles(as < 0 ? inner : inner.slice(0, as));
    }
    i = j - 1;
  }
  return out;
}

function topLevelAs(s) {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "<") depth++;
    else if (s[i] === ">") depth--;
    else if (depth === 0 && s.startsWith(" as ", i)) return i;
  }
  return -1;
}

// ----- the binary format: LEB128 and sections ------------------------------------------------

function readU32(buf, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = buf[at.p++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return value >>> 0;
}

function u32(n) {
  const bytes = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    bytes.push(byte);
  } while (n);
  return Buffer.from(bytes);
}

const str = (s) => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([u32(b.length), b]);
};

/** Which functions keep a name: workbus's own (and the closures inside them). */
const keep = (name) => name.includes("workbus::");

/** Functions of Rust's float printing found in the module (see shortenNames). */
const floatPrinting = [];

/** The new "name" section's payload: the module name (if any) and the short function names. */
function shortNameSection(payload) {
  const at = { p: 0 };
  const kept = [];
  while (at.p < payload.length) {
    const id = payload[at.p++];
    const size = readU32(payload, at);
    const end = at.p + size;
    if (id === 0) kept.push(Buffer.concat([Buffer.from([0]), u32(size), payload.subarray(at.p, end)]));
    if (id === 1) {
      const count = readU32(payload, at);
      const entries = [];
      for (let i = 0; i < count; i++) {
        const index = readU32(payload, at);
        const length = readU32(payload, at);
        const name = payload.subarray(at.p, at.p + length).toString("utf8");
        at.p += length;
        if (name.includes("flt2dec")) floatPrinting.push(name);
        if (keep(name)) entries.push(u32(index), str(shortName(name)));
      }
      const body = Buffer.concat([u32(entries.length / 2), ...entries]);
      kept.push(Buffer.concat([Buffer.from([1]), u32(body.length), body]));
    }
    at.p = end;
  }
  return Buffer.concat(kept);
}

/**
 * The wasm with some sections replaced: `rewrite(id, wasm, at, end)` reads the section whose
 * payload runs from `at.p` to `end` and returns its new payload, or undefined to keep it.
 */
function rewriteSections(wasm, rewrite) {
  const parts = [wasm.subarray(0, 8)];
  const at = { p: 8 };
  while (at.p < wasm.length) {
    const start = at.p;
    const id = wasm[at.p++];
    const size = readU32(wasm, at);
    const end = at.p + size;
    const payload = rewrite(id, wasm, { p: at.p }, end);
    parts.push(payload === undefined ? wasm.subarray(start, end) : Buffer.concat([Buffer.from([id]), u32(payload.length), payload]));
    at.p = end;
  }
  return Buffer.concat(parts);
}

export function shortenNames(wasm) {
  const out = rewriteSections(wasm, (id, buf, at, end) => {
    if (id !== 0) return undefined;
    const length = readU32(buf, at);
    if (buf.subarray(at.p, at.p + length).toString("utf8") !== "name") return undefined;
    return Buffer.concat([str("name"), shortNameSection(buf.subarray(at.p + length, end))]);
  });
  // Rust's float printing costs about 17 KB of wasm; one `{}` of an f64 in a message pulls it in.
  if (floatPrinting.length > 0) {
    throw new Error(
      `the engine prints a float (${floatPrinting[0]} is in the wasm, about 17 KB): ` +
        "print whole numbers (as u32 / i64) or leave the value out of the message",
    );
  }
  return out;
}

/** Skips an import's description (after its names); see the import section of the wasm spec. */
function skipImportDesc(buf, at) {
  const kind = buf[at.p++];
  const limits = () => {
    const flags = buf[at.p++];
    readU32(buf, at);
    if (flags & 1) readU32(buf, at);
  };
  if (kind === 0) readU32(buf, at);
  else if (kind === 1) (at.p++, limits());
  else if (kind === 2) limits();
  else if (kind === 3) at.p += 2;
  else if (kind === 4) (at.p++, readU32(buf, at));
  else throw new Error(`unknown import kind ${kind}`);
}

/**
 * The wasm with short names for the functions it imports from the module `./core_bg.js` (the
 * glue), and the glue's text with the same names: each old name must occur in the glue, as a
 * whole word, and nowhere as anything else than that import.
 */
export function shortenImports(wasm, glue) {
  const renamed = new Map();
  const out = rewriteSections(wasm, (id, buf, at) => {
    if (id !== 2) return undefined;
    const count = readU32(buf, at);
    const entries = [u32(count)];
    for (let i = 0; i < count; i++) {
      const moduleLength = readU32(buf, at);
      const module = buf.subarray(at.p, at.p + moduleLength).toString("utf8");
      at.p += moduleLength;
      const nameLength = readU32(buf, at);
      const name = buf.subarray(at.p, at.p + nameLength).toString("utf8");
      at.p += nameLength;
      const descStart = at.p;
      skipImportDesc(buf, at);
      const short = module === "./core_bg.js" && /^__wbg_\w+$/.test(name) ? `_w${renamed.size.toString(36)}` : name;
      if (short !== name) renamed.set(name, short);
      entries.push(str(module), str(short), buf.subarray(descStart, at.p));
    }
    return Buffer.concat(entries);
  });
  let text = glue;
  for (const [name, short] of renamed) {
    const word = new RegExp(`\\b${name}\\b`, "g");
    const uses = text.match(word)?.length ?? 0;
    if (uses !== 1) throw new Error(`the glue names the import ${name} ${uses} times, not once`);
    if (new RegExp(`\\b${short}\\b`).test(text)) throw new Error(`the glue already has a word ${short}`);
    text = text.replace(word, short);
  }
  return { wasm: out, glue: text };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    const gluePath = join(dirname(file), "core.js");
    const { wasm, glue } = shortenImports(shortenNames(readFileSync(file)), readFileSync(gluePath, "utf8"));
    writeFileSync(file, wasm);
    writeFileSync(gluePath, glue);
  }
}
