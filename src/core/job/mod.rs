//! Jobs from the requester's side: groups, deadlines, responses, events and failures.
//!
//! A job to one worker is a group of one with `cancel_on_error`. A group is created at once
//! (so it can buffer events and be cancelled before it is sent), waits for its workers to be
//! ready within the one deadline that also bounds the job, then sends one request per worker
//! and settles exactly once: completed when every worker answered, or failed with a reason.
//!
//! This file holds what a job is asked and how it ends; `group` is the job group, `requester`
//! starts, sends, bounds and cancels groups, `answers` handles what comes back.

use super::hash::HashSet;
use super::message::{JobStatus, Message, SharedStr};
use super::{ApiError, Value};
use std::rc::Rc;

mod answers;
mod group;
mod requester;

pub use answers::{AnswerEvent, AnswerKind};
pub use group::JobGroup;
use group::SMALL;
pub use requester::{Requester, WarningDelay, NOT_READY_WARNING_MS};

/// What a requester asks for. Durations are milliseconds.
#[derive(Clone)]
pub struct JobParams<V: Value> {
    pub name: Option<String>,
    pub payload: Option<V>,
    pub timeout: Option<f64>,
    pub label: Option<String>,
    pub cancellable: bool,
    pub cancel_on_error: bool,
    /// How many times a job (or member) whose instance stops or goes silent before answering
    /// is sent again to another live instance of its name, within the same deadline.
    pub retries: u32,
}

impl<V: Value> Default for JobParams<V> {
    fn default() -> Self {
        JobParams { name: None, payload: None, timeout: None, label: None, cancellable: true, cancel_on_error: true, retries: 0 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEventKind {
    Update,
    StreamStart,
    StreamData,
    StreamEnd,
}

impl JobEventKind {
    pub const ALL: [JobEventKind; 4] = [JobEventKind::Update, JobEventKind::StreamStart, JobEventKind::StreamData, JobEventKind::StreamEnd];
    pub fn as_str(self) -> &'static str {
        match self {
            JobEventKind::Update => "update",
            JobEventKind::StreamStart => "stream_start",
            JobEventKind::StreamData => "stream_data",
            JobEventKind::StreamEnd => "stream_end",
        }
    }
}

/// One update or stream message, as a context's iterator yields it. It holds the message
/// itself: an event copies neither the worker's name nor its data.
#[derive(Clone)]
pub struct JobEvent<V: Value> {
    pub kind: JobEventKind,
    message: Rc<Message<V>>,
}

impl<V: Value> JobEvent<V> {
    pub(crate) fn new(kind: JobEventKind, message: Rc<Message<V>>) -> Self {
        Self { kind, message }
    }
    /// The worker that sent it.
    pub fn worker_name(&self) -> &str {
        &self.message.source
    }
    pub fn data(&self) -> Option<&V> {
        use super::message::Body::*;
        match &self.message.body {
            JobUpdate { update: data, .. } | JobStreamStart { data, .. } | JobStreamData { data, .. } | JobStreamEnd { data, .. } => data.as_ref(),
            _ => None,
        }
    }
}

/// Why a job or group failed. `reason` is Pipecat's string; the rest says which answer caused it.
pub struct JobFailure<V: Value> {
    pub reason: String,
    /// The workers were not ready before the deadline (nothing was sent).
    pub not_ready: bool,
    pub worker_name: Option<String>,
    pub status: Option<JobStatus>,
    pub response: Option<V>,
    /// The responses received before the failure, in arrival order.
    pub responses: Vec<(SharedStr, V)>,
    /// What caused it: what the worker's handler threw, what the requester cancelled with, or
    /// the host's error behind a link's refusal of the payload.
    pub cause: Option<V>,
}

impl<V: Value> JobFailure<V> {
    pub fn with_reason(reason: impl Into<String>) -> Self {
        JobFailure { reason: reason.into(), not_ready: false, worker_name: None, status: None, response: None, responses: Vec::new(), cause: None }
    }
}

/// The cause of a worker's `error` answer: what its handler threw when the message carries it
/// (same realm, structured-clone links), else an error made from the `{ error }` response (a
/// Pipecat peer over JSON).
fn answer_cause<V: Value>(message: &Message<V>, status: JobStatus, response: &Option<V>) -> Option<V> {
    message.cause.clone().or_else(|| {
        (status == JobStatus::Error).then(|| response.as_ref().and_then(|r| r.string_field("error"))).flatten().map(|e| V::error_from_message(&e))
    })
}

#[derive(Clone)]
pub enum Outcome<V: Value> {
    Completed,
    Failed(Rc<JobFailure<V>>),
}

/// What a context's iterator sees next.
pub enum NextEvent<V: Value> {
    Event(JobEvent<V>),
    Completed,
    Failed(Rc<JobFailure<V>>),
    Pending,
}

/// The value rules of a group request: a non-empty list of distinct names, a usable timeout.
pub fn check_group<V: Value>(worker_names: &[SharedStr], params: &JobParams<V>) -> Result<(), ApiError> {
    if worker_names.is_empty() {
        return Err(ApiError::Type("workerNames must not be empty".into()));
    }
    let mut seen: HashSet<&str> = HashSet::default();
    for (i, name) in worker_names.iter().enumerate() {
        let repeated = if worker_names.len() <= SMALL { worker_names[..i].contains(name) } else { !seen.insert(name) };
        if repeated {
            return Err(ApiError::Type(format!("workerNames has '{name}' more than once")));
        }
    }
    match params.timeout {
        Some(t) if !(t.is_finite() && t >= 0.0) => Err(ApiError::Type("timeout must be a finite number of milliseconds >= 0".into())),
        _ => Ok(()),
    }
}
