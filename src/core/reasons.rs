//! Pipecat's failure reasons: the strings a requester sees as `JobError.reason` (and `message`),
//! each defined here once.

/// The job's deadline passed after it was sent.
pub const TIMEOUT: &str = "timeout";
/// The deadline passed while a worker of the job was not ready yet.
pub const NOT_READY: &str = "workers not ready within timeout";
/// The requesting runner ended while the job was pending.
pub const RUNNER_EXITING: &str = "runner exiting";
/// A cancel that gave no reason.
pub const CANCELLED: &str = "cancelled";

/// The worker stopped (or left, or its runner went away) before answering.
pub fn stopped(worker: &str) -> String {
    format!("worker '{worker}' stopped")
}

/// The worker answered `error` or `failed`.
pub fn errored(worker: &str) -> String {
    format!("worker '{worker}' errored")
}
