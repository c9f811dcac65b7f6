// Pipecat's JSON envelopes: encodeMessage/decodeMessage, and what the transports that speak
// Pipecat's wire share (text of bytes within limits, sealed messages).

import * as core from "./core.js";
import { checkCount, checkOptions, describe } from "./checks.js";
import { assertLoaded } from "./loading.js";
import { log } from "./log.js";
import SCHEMA from "./wire-schema.js";
import { WireError, decodeWire, encodeWire, parseWire } from "./wire.js";
import { busCore, reportOnBus } from "./buses.js";

/** A size or depth limit: a whole number >= 1, or undefined for the engine's. */
export function checkLimit(value, name) {
  return value === undefined ? undefined : checkCount(value, name);
}

/** A message object (as listeners see it) in Pipecat's JSON envelope text. */
export function encodeMessage(message) {
  assertLoaded();
  try {
    return encodeWire(message);
  } catch (e) {
    throw new TypeError(`message: ${e.message}`);
  }
}

/**
 * A message object from Pipecat's JSON text (or its UTF-8 bytes); `null` for a type outside
 * Pipecat's catalogue. Throws an Error naming the problem when the text is malformed.
 */
export function decodeMessage(text, limits) {
  assertLoaded();
  const l = checkOptions(limits, "limits");
  const maxBytes = checkLimit(l.maxBytes, "limits.maxBytes");
  const maxDepth = checkLimit(l.maxDepth, "limits.maxDepth");
  const input = textOf(text, "text", maxBytes);
  try {
    return decodeWire(input, maxBytes, maxDepth);
  } catch (e) {
    if (e instanceof WireError) throw new Error(`malformed Pipecat message: ${e.message}`);
    throw e;
  }
}

// The engine's limit on the size of a message (its wire codec's).
export const DEFAULT_MAX_BYTES = SCHEMA.maxBytes;

/** Text of a string, or of UTF-8 bytes that fit `maxBytes` (refused before they are decoded). */
export function textOf(data, name, maxBytes = DEFAULT_MAX_BYTES) {
  if (typeof data === "string") return data;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    if (data.byteLength > maxBytes) throw new Error(`malformed Pipecat message: message of ${data.byteLength} bytes is over the limit of ${maxBytes}`);
    return new TextDecoder().decode(data);
  }
  throw new TypeError(`${name} must be a string or bytes, got ${describe(data)}`);
}

/** Why a message from a wire is dropped: a WireError's text, a sealed wrapper's refusal (a string). */
export const problemOf = (e) => (typeof e === "string" ? e : (e?.message ?? String(e)));

/** The Pipecat text inside a sealed wrapper, if it opens with `secret`; throws why not. */
export function unseal(text, secret, maxBytes, maxDepth) {
  const sealed = parseWire(text, maxBytes, maxDepth);
  const field = (k) => (sealed !== null && typeof sealed === "object" && !Array.isArray(sealed) ? sealed[k] : undefined);
  return core.openSealed(secret, field("t"), field("mac"), field("msg"));
}

/** A message leaving for a Pipecat wire as text (sealed with `secret`); `null`, logged, if it cannot be. */
export function wireTextOf(message, secret) {
  try {
    const text = encodeWire(message);
    return secret === undefined ? text : core.sealMessage(secret, text);
  } catch (e) {
    log("error", `could not send ${message.type} (source=${message.source}, target=${message.target ?? "None"}) as Pipecat JSON: ${e.message}`);
    return null;
  }
}

/**
 * Delivers Pipecat text that arrived on `bus`'s wire link `id` (sealed with `secret`, if any).
 * Text over the size limit or malformed is dropped and reported on the bus; a type outside
 * Pipecat's catalogue is dropped with a warning. Returns the message delivered, or null.
 */
export function deliverWireText(bus, id, text, { secret, maxBytes, maxDepth }) {
  if (text.length > (maxBytes ?? DEFAULT_MAX_BYTES)) {
    reportOnBus(bus, new Error(`dropped a message of at least ${text.length} bytes: over the limit`));
    return null;
  }
  let message;
  try {
    message = decodeWire(secret === undefined ? text : unseal(text, secret, maxBytes, maxDepth), maxBytes, maxDepth);
  } catch (e) {
    // Reported, never thrown into the client's callback.
    reportOnBus(bus, new Error(`dropped a malformed message: ${problemOf(e)}`));
    return null;
  }
  if (message === null) {
    log("warn", `dropped a message of a type outside Pipecat's catalogue: ${text.slice(0, 200)}`);
    return null;
  }
  const problem = busCore(bus).receive(message, id);
  if (problem !== undefined) reportOnBus(bus, new Error(`dropped a malformed message: ${problem}`));
  return message;
}
