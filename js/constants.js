// The names and numbers the façade shares with the engine: statuses, event names (in the
// engine's order), stream parts and the defaults of durations.

export const JobStatus = Object.freeze({ COMPLETED: "completed", CANCELLED: "cancelled", FAILED: "failed", ERROR: "error" });
export const JobEvent = Object.freeze({ UPDATE: "update", STREAM_START: "stream_start", STREAM_DATA: "stream_data", STREAM_END: "stream_end" });
export const JobGroupEvent = JobEvent;

export const STATUSES = new Set(Object.values(JobStatus));
export const DEFAULT_GRACE_MS = 5000;
export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_HEARTBEAT_MISSES = 3;
export const DEFAULT_SPAWN_TIMEOUT_MS = 10000;
// Bit i of a worker's event mask is WORKER_EVENTS[i] (the engine's order).
export const WORKER_EVENTS = [
  "activated", "deactivated", "finished", "workerReady", "workerFailed", "jobRequest", "jobResponse",
  "jobUpdate", "jobUpdateRequested", "jobError", "jobStreamStart", "jobStreamData", "jobStreamEnd",
  "jobCancelled", "busMessage", "jobCompleted", "error",
];
export const RUNNER_EVENTS = ["ready", "error"];
export const REGISTRY_EVENTS = ["ready", "gone"];
// Which part of a job stream a message is, as the engine numbers them.
export const STREAM = { start: 0, data: 1, end: 2 };
