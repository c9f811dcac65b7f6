// Argument checks: a bad argument is a TypeError that names it and says what it got.

import { DEFAULT_GRACE_MS, JobStatus, STATUSES } from "./constants.js";

export function describe(v) {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "number") return `the number ${v}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

export function checkString(value, name) {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  return value;
}

export function checkName(value, name) {
  checkString(value, name);
  if (value.length === 0) throw new TypeError(`${name} must not be empty`);
  return value;
}

export function checkOptionalString(value, name) {
  return value === undefined || value === null ? undefined : checkString(value, name);
}

export function checkFunction(value, name) {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  return value;
}

export function checkBoolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function checkDuration(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds >= 0, got ${describe(value)}`);
  }
  return value;
}

export function checkCount(value, name, least = 1) {
  if (!Number.isInteger(value) || value < least || value > 0xffffffff) throw new TypeError(`${name} must be a whole number >= ${least}, got ${describe(value)}`);
  return value;
}

export function checkOptions(value, name) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  return value;
}

export function checkSignal(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || typeof value.aborted !== "boolean" || typeof value.addEventListener !== "function") {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
  return value;
}

export function checkWorkerNames(value, name) {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of worker names, got ${describe(value)}`);
  value.forEach((n, i) => checkName(n, `${name}[${i}]`));
  return value;
}

/** The options of `end`/`cancel`/`stop`: a reason string or `{ reason, gracePeriod }`. */
export function stopOptions(options, name) {
  if (typeof options === "string") return { reason: options, gracePeriod: DEFAULT_GRACE_MS };
  const o = checkOptions(options, name);
  return {
    reason: checkOptionalString(o.reason, `${name}.reason`),
    gracePeriod: checkDuration(o.gracePeriod, `${name}.gracePeriod`) ?? DEFAULT_GRACE_MS,
  };
}

export function jobParams(params, name, group) {
  const p = checkOptions(params, name);
  return {
    name: checkOptionalString(p.name, `${name}.name`),
    payload: p.payload,
    timeout: checkDuration(p.timeout, `${name}.timeout`),
    label: checkOptionalString(p.label, `${name}.label`),
    cancellable: checkBoolean(p.cancellable, `${name}.cancellable`, true),
    cancelOnError: group ? checkBoolean(p.cancelOnError, `${name}.cancelOnError`, true) : true,
    retries: p.retries === undefined || p.retries === null ? 0 : checkCount(p.retries, `${name}.retries`, 0),
    signal: checkSignal(p.signal, `${name}.signal`),
  };
}

/** Runs `fn` and turns a synchronous throw into a rejection (for async methods). */
export function rejecting(fn) {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

export function checkStatus(status) {
  if (status === undefined) return JobStatus.COMPLETED;
  if (!STATUSES.has(status)) throw new TypeError(`options.status must be one of ${[...STATUSES].join(", ")}; got ${describe(status)}`);
  return status;
}
