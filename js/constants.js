// The names and numbers the façade shares with the engine: statuses, event names (in the
// engine's order), group states, stream parts and the defaults of durations. They come from
// ./boundary.js, generated from the engine's side of the boundary (src/boundary.rs).

import BOUNDARY from "./boundary.js";

/** `{ COMPLETED: "completed", ... }` from `["completed", ...]`. */
const named = (values) => Object.freeze(Object.fromEntries(values.map((v) => [v.toUpperCase(), v])));

export const JobStatus = named(BOUNDARY.jobStatuses);
export const JobEvent = named(BOUNDARY.jobEvents);
export const JobGroupEvent = JobEvent;

export const STATUSES = new Set(Object.values(JobStatus));
export const DEFAULT_GRACE_MS = BOUNDARY.defaultGracePeriodMs;
export const DEFAULT_HEARTBEAT_MS = BOUNDARY.defaultHeartbeatIntervalMs;
export const DEFAULT_HEARTBEAT_MISSES = BOUNDARY.defaultHeartbeatMisses;
// How long spawnWorker waits for a realm to announce its workers (the engine has no part in it).
export const DEFAULT_SPAWN_TIMEOUT_MS = 10000;
// Bit i of a worker's event mask is WORKER_EVENTS[i]; a runner's or registry's event kind k is
// RUNNER_EVENTS[k] or REGISTRY_EVENTS[k].
export const WORKER_EVENTS = BOUNDARY.workerEvents;
export const RUNNER_EVENTS = BOUNDARY.runnerEvents;
export const REGISTRY_EVENTS = BOUNDARY.registryEvents;
// A job group's state (`waiting`, `sent`, `completed`, `failed`, in that order).
export const GROUP = BOUNDARY.groupStates;
// Which part of a job stream a message is.
export const STREAM = BOUNDARY.streamParts;
// The message with which a runner announces its workers on a new link.
export const REGISTRY_MESSAGE = BOUNDARY.registryMessage;
