// Where workbus's log lines go: the engine's and the façade's, to one logger.

import * as core from "./core.js";
import { describe } from "./checks.js";
import { assertLoaded } from "./loading.js";

/** Routes workbus log lines to `logger(level, message)`; `null` restores the console. */
export function setLogger(logger) {
  if (logger !== null && logger !== undefined && typeof logger !== "function") {
    throw new TypeError(`logger must be a function or null, got ${describe(logger)}`);
  }
  assertLoaded();
  core.setLogger(logger ?? undefined);
  currentLogger = logger ?? null;
}
let currentLogger = null;

/** A log line of the façade ("warn" or "error"), where the engine's own lines go. */
export function log(level, message) {
  if (currentLogger) currentLogger(level, message);
  else if (level === "warn") console.warn(`[workbus] ${message}`);
  else console.error(`[workbus] ${message}`);
}

export function logError(what, error) {
  log("error", `${what}: ${error instanceof Error ? error.stack || error.message : String(error)}`);
}
