//! A job as the worker handling it sees it, and why sending about it can fail.

use super::{Worker, WorkerInner};
use crate::core::bus::Refusal;
use crate::core::message::{JobStatus, SharedStr};
use crate::core::sync::AbortToken;
use crate::core::{ApiError, Value};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// A job as the worker handling it sees it. Cloning it shares it (one per job, however many
/// places hold it: the active jobs, the handler's task, the request event).
pub struct JobRequest<V: Value>(pub(super) Rc<JobRequestData<V>>);

pub struct JobRequestData<V: Value> {
    pub id: SharedStr,
    /// The worker's number for this job, unique among its jobs and counting up in arrival
    /// order: the host names the job by it, cheaper to pass and look up than the id.
    pub key: u64,
    pub name: Option<String>,
    pub payload: Option<V>,
    /// The requester.
    pub source: SharedStr,
    /// The requester's runner, when the request came from another runner that said so.
    pub source_runner: Option<SharedStr>,
    /// Which try this is (1 for the first; a pool's retries count up).
    pub attempt: u32,
    /// Aborted when the job is cancelled or the worker stops.
    pub abort: AbortToken,
    /// The host's own object for this request (the JavaScript `JobRequest`), kept with it.
    pub host: RefCell<Option<V>>,
    pub(super) worker: Weak<WorkerInner<V>>,
}

impl<V: Value> Clone for JobRequest<V> {
    fn clone(&self) -> Self {
        JobRequest(self.0.clone())
    }
}

impl<V: Value> std::ops::Deref for JobRequest<V> {
    type Target = JobRequestData<V>;
    fn deref(&self) -> &JobRequestData<V> {
        &self.0
    }
}

impl<V: Value> JobRequest<V> {
    /// Whether the job still waits for its answer.
    pub fn is_active(&self) -> bool {
        self.worker().is_some_and(|w| w.is_request_active(self))
    }

    /// The worker handling this job (absent once it has been dropped).
    pub fn worker(&self) -> Option<Worker<V>> {
        self.worker.upgrade().map(Worker)
    }
    fn with_worker<T>(&self, f: impl FnOnce(&Worker<V>) -> Result<T, ApiError>) -> Result<T, ApiError> {
        match self.worker() {
            Some(w) => f(&w),
            None => Err(ApiError::Error(format!("no active job '{}'", self.id))),
        }
    }
    pub fn update(&self, update: Option<V>, urgent: bool) -> Result<(), SendError<V>> {
        self.worker().ok_or_else(|| self.gone())?.send_job_update(&self.id, update, urgent)
    }
    pub fn stream(&self, kind: StreamPart, data: Option<V>) -> Result<(), SendError<V>> {
        self.worker().ok_or_else(|| self.gone())?.send_job_stream(&self.id, kind, data)
    }
    fn gone(&self) -> SendError<V> {
        SendError::Api(ApiError::Error(format!("no active job '{}'", self.id)))
    }
    pub fn respond(&self, response: Option<V>, status: JobStatus, urgent: bool) -> Result<(), ApiError> {
        self.with_worker(|w| w.send_job_response(&self.id, response, status, urgent))
    }
}

/// Why an update or a stream chunk was not sent: a bad call, or a link that refused its value.
pub enum SendError<V: Value> {
    Api(ApiError),
    /// The message names the job; the cause is the link's own error.
    Refused(Refusal<V>),
}

impl<V: Value> From<ApiError> for SendError<V> {
    fn from(e: ApiError) -> Self {
        SendError::Api(e)
    }
}

impl<V: Value> std::fmt::Display for SendError<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Api(e) => e.fmt(f),
            SendError::Refused(r) => f.write_str(&r.message),
        }
    }
}

impl<V: Value> std::fmt::Debug for SendError<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamPart {
    Start,
    Data,
    End,
}
