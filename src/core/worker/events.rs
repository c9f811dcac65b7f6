//! What a worker reports to its listeners, and the names JavaScript knows them by.

use super::JobRequest;
use crate::core::job::{AnswerEvent, AnswerKind};
use crate::core::message::{Message, SharedStr};
use crate::core::registry::ReadyData;
use crate::core::Value;
use std::rc::Rc;

/// Everything a worker reports to its listeners, after its own handling.
pub enum WorkerEvent<V: Value> {
    Activated(Option<V>),
    Deactivated,
    Finished,
    WorkerReady(ReadyData),
    WorkerFailed { worker_name: String, error: String },
    JobRequest(JobRequest<V>),
    JobResponse(Rc<Message<V>>),
    JobUpdate(Rc<Message<V>>),
    JobUpdateRequested(Rc<Message<V>>),
    JobError(Rc<Message<V>>),
    JobStreamStart(Rc<Message<V>>),
    JobStreamData(Rc<Message<V>>),
    JobStreamEnd(Rc<Message<V>>),
    JobCancelled(Rc<Message<V>>),
    BusMessage(Rc<Message<V>>),
    JobCompleted { job_id: SharedStr, responses: Vec<(SharedStr, V)> },
    /// A handler threw after its job was answered (what it threw).
    Error(V),
}

/// Event names as JavaScript listeners know them; the index is the bit in an event mask.
pub const EVENT_NAMES: [&str; 17] = [
    "activated",
    "deactivated",
    "finished",
    "workerReady",
    "workerFailed",
    "jobRequest",
    "jobResponse",
    "jobUpdate",
    "jobUpdateRequested",
    "jobError",
    "jobStreamStart",
    "jobStreamData",
    "jobStreamEnd",
    "jobCancelled",
    "busMessage",
    "jobCompleted",
    "error",
];

/// The index of `"jobCompleted"` in [`EVENT_NAMES`].
pub const JOB_COMPLETED_EVENT: usize = 15;

/// The index in [`EVENT_NAMES`] of the event a requester's answer event becomes.
pub(super) fn answer_index(kind: AnswerKind) -> usize {
    match kind {
        AnswerKind::Response => 6,
        AnswerKind::Update => 7,
        AnswerKind::Error => 9,
        AnswerKind::StreamStart => 10,
        AnswerKind::StreamData => 11,
        AnswerKind::StreamEnd => 12,
        AnswerKind::Completed => JOB_COMPLETED_EVENT,
    }
}

impl<V: Value> From<AnswerEvent<V>> for WorkerEvent<V> {
    fn from(event: AnswerEvent<V>) -> Self {
        match event {
            AnswerEvent::Response(m) => WorkerEvent::JobResponse(m),
            AnswerEvent::Error(m) => WorkerEvent::JobError(m),
            AnswerEvent::Update(m) => WorkerEvent::JobUpdate(m),
            AnswerEvent::StreamStart(m) => WorkerEvent::JobStreamStart(m),
            AnswerEvent::StreamData(m) => WorkerEvent::JobStreamData(m),
            AnswerEvent::StreamEnd(m) => WorkerEvent::JobStreamEnd(m),
            AnswerEvent::Completed { job_id, responses } => WorkerEvent::JobCompleted { job_id, responses },
        }
    }
}

impl<V: Value> WorkerEvent<V> {
    pub fn index(&self) -> usize {
        use WorkerEvent::*;
        match self {
            Activated(_) => 0,
            Deactivated => 1,
            Finished => 2,
            WorkerReady(_) => 3,
            WorkerFailed { .. } => 4,
            JobRequest(_) => 5,
            JobResponse(_) => 6,
            JobUpdate(_) => 7,
            JobUpdateRequested(_) => 8,
            JobError(_) => 9,
            JobStreamStart(_) => 10,
            JobStreamData(_) => 11,
            JobStreamEnd(_) => 12,
            JobCancelled(_) => 13,
            BusMessage(_) => 14,
            JobCompleted { .. } => JOB_COMPLETED_EVENT,
            Error(_) => 16,
        }
    }
    pub fn name(&self) -> &'static str {
        EVENT_NAMES[self.index()]
    }
}
