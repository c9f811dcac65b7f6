//! Every bus message of Pipecat's catalogue (`pipecat.bus.messages` and `pipecat.bus.ui`).
//!
//! A message is a source, an optional target (none = broadcast) and a [`Body`]. The body decides
//! the lane (system messages are handled ahead of queued data) and whether the message is
//! local-only (never handed to a transport).

use super::registry::RegistryEntry;
pub use super::shared_str::SharedStr;
use super::Value;
use std::fmt;

/// The client's reserved UI event that asks a UI worker to cancel one of its job groups
/// (`pipecat.bus.ui.messages.UI_CANCEL_JOB_GROUP_EVENT_NAME`).
pub const UI_CANCEL_JOB_GROUP_EVENT: &str = "__cancel_job_group";

/// The final status a worker gives a job (`pipecat.workers.types.JobStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Completed,
    Cancelled,
    Failed,
    Error,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [JobStatus::Completed, JobStatus::Cancelled, JobStatus::Failed, JobStatus::Error];
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Failed => "failed",
            JobStatus::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "completed" => JobStatus::Completed,
            "cancelled" => JobStatus::Cancelled,
            "failed" => JobStatus::Failed,
            "error" => JobStatus::Error,
            _ => return None,
        })
    }
    /// Statuses that count as a worker's failure (`cancelOnError` reacts to them).
    pub fn is_failure(self) -> bool {
        matches!(self, JobStatus::Failed | JobStatus::Error)
    }
}

/// `pipecat.processors.frame_processor.FrameDirection`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameDirection {
    Downstream,
    Upstream,
}

impl FrameDirection {
    pub const ALL: [FrameDirection; 2] = [FrameDirection::Downstream, FrameDirection::Upstream];
    pub fn as_str(self) -> &'static str {
        match self {
            FrameDirection::Downstream => "DOWNSTREAM",
            FrameDirection::Upstream => "UPSTREAM",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DOWNSTREAM" => Some(FrameDirection::Downstream),
            "UPSTREAM" => Some(FrameDirection::Upstream),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// High priority, handled without waiting behind queued data.
    System,
    /// FIFO, one at a time per subscriber.
    Data,
}

/// The fields of each message type. Variant names are Pipecat's class names without `Bus`.
pub enum Body<V: Value> {
    /// A bare `BusDataMessage`.
    Data,
    /// A bare `BusSystemMessage`.
    System,
    Frame { frame: V, direction: FrameDirection, bridge: Option<String> },
    TtsSpeak { text: String, append_to_context: bool },
    /// A flush probe from another worker is still making progress (pipeline workers).
    FlushProgress { flush_id: f64 },
    ActivateWorker { args: Option<V> },
    DeactivateWorker,
    End { reason: Option<String> },
    EndWorker { reason: Option<String> },
    Cancel { reason: Option<String> },
    CancelWorker { reason: Option<String> },
    /// Local-only: names the worker a parent added (its runner hosts it before announcing it).
    AddWorker { worker: String },
    WorkerRegistry { runner: String, workers: Vec<RegistryEntry> },
    WorkerReady { runner: String, parent: Option<String>, active: bool, bridged: bool, started_at: Option<f64> },
    WorkerError { error: String },
    /// Local-only: a child's error, for its parent.
    WorkerLocalError { error: String },
    /// `attempt`: which try this is, when a pool sends the job again (`None`: the first).
    JobRequest { job_id: SharedStr, job_name: Option<String>, payload: Option<V>, attempt: Option<u32> },
    JobResponse { job_id: SharedStr, status: JobStatus, response: Option<V>, urgent: bool },
    JobUpdate { job_id: SharedStr, update: Option<V>, urgent: bool },
    JobUpdateRequest { job_id: SharedStr },
    JobCancel { job_id: SharedStr, reason: Option<String> },
    JobStreamStart { job_id: SharedStr, data: Option<V> },
    JobStreamData { job_id: SharedStr, data: Option<V> },
    JobStreamEnd { job_id: SharedStr, data: Option<V> },
    UiEvent { event_name: String, payload: Option<V> },
    UiCommand { command_name: String, payload: Option<V> },
    UiJobGroupStarted { job_id: SharedStr, workers: Option<Vec<String>>, label: Option<String>, cancellable: bool, at: f64 },
    UiJobUpdate { job_id: SharedStr, worker_name: String, data: Option<V>, at: f64 },
    UiJobCompleted { job_id: SharedStr, worker_name: String, status: String, response: Option<V>, at: f64 },
    UiJobGroupCompleted { job_id: SharedStr, at: f64 },
}

pub struct Message<V: Value> {
    pub source: SharedStr,
    pub target: Option<SharedStr>,
    pub body: Body<V>,
    /// What a handler threw, with the error response it caused. It travels with the message
    /// inside a realm and across structured-clone links (as a plain description); Pipecat's
    /// JSON has no place for it.
    pub cause: Option<V>,
    /// Which runner's instance of `target` is meant when several runners host that name (a
    /// pool); `None` is Pipecat's addressing: every subscriber of that name. workbus's own
    /// field: Pipecat peers keep it as an extra attribute and ignore it.
    pub target_runner: Option<SharedStr>,
    /// The runner the sender is on, so that answers go back to that runner alone.
    pub source_runner: Option<SharedStr>,
}

impl<V: Value> Message<V> {
    pub fn new(source: impl Into<SharedStr>, target: Option<SharedStr>, body: Body<V>) -> Self {
        Self { source: source.into(), target, body, cause: None, target_runner: None, source_runner: None }
    }

    /// Addresses the message to one runner's instance of its target, from `source_runner`.
    pub fn routed(mut self, source_runner: Option<SharedStr>, target_runner: Option<SharedStr>) -> Self {
        self.source_runner = source_runner;
        self.target_runner = target_runner;
        self
    }

    pub fn with_cause(mut self, cause: Option<V>) -> Self {
        self.cause = cause;
        self
    }

    /// Pipecat's class name, e.g. `"BusJobUpdateMessage"`.
    pub fn type_name(&self) -> &'static str {
        use Body::*;
        match &self.body {
            Data => "BusDataMessage",
            System => "BusSystemMessage",
            Frame { .. } => "BusFrameMessage",
            TtsSpeak { .. } => "BusTTSSpeakMessage",
            FlushProgress { .. } => "BusFlushProgressMessage",
            ActivateWorker { .. } => "BusActivateWorkerMessage",
            DeactivateWorker => "BusDeactivateWorkerMessage",
            End { .. } => "BusEndMessage",
            EndWorker { .. } => "BusEndWorkerMessage",
            Cancel { .. } => "BusCancelMessage",
            CancelWorker { .. } => "BusCancelWorkerMessage",
            AddWorker { .. } => "BusAddWorkerMessage",
            WorkerRegistry { .. } => "BusWorkerRegistryMessage",
            WorkerReady { .. } => "BusWorkerReadyMessage",
            WorkerError { .. } => "BusWorkerErrorMessage",
            WorkerLocalError { .. } => "BusWorkerLocalErrorMessage",
            JobRequest { .. } => "BusJobRequestMessage",
            JobResponse { urgent: false, .. } => "BusJobResponseMessage",
            JobResponse { urgent: true, .. } => "BusJobResponseUrgentMessage",
            JobUpdate { urgent: false, .. } => "BusJobUpdateMessage",
            JobUpdate { urgent: true, .. } => "BusJobUpdateUrgentMessage",
            JobUpdateRequest { .. } => "BusJobUpdateRequestMessage",
            JobCancel { .. } => "BusJobCancelMessage",
            JobStreamStart { .. } => "BusJobStreamStartMessage",
            JobStreamData { .. } => "BusJobStreamDataMessage",
            JobStreamEnd { .. } => "BusJobStreamEndMessage",
            UiEvent { .. } => "BusUIEventMessage",
            UiCommand { .. } => "BusUICommandMessage",
            UiJobGroupStarted { .. } => "BusUIJobGroupStartedMessage",
            UiJobUpdate { .. } => "BusUIJobUpdateMessage",
            UiJobCompleted { .. } => "BusUIJobCompletedMessage",
            UiJobGroupCompleted { .. } => "BusUIJobGroupCompletedMessage",
        }
    }

    pub fn lane(&self) -> Lane {
        use Body::*;
        match &self.body {
            System | Cancel { .. } | CancelWorker { .. } | AddWorker { .. } | WorkerRegistry { .. } | WorkerError { .. }
            | WorkerLocalError { .. } | JobCancel { .. } => Lane::System,
            JobResponse { urgent, .. } | JobUpdate { urgent, .. } if *urgent => Lane::System,
            _ => Lane::Data,
        }
    }

    /// Local-only messages never leave the process.
    pub fn is_local(&self) -> bool {
        matches!(self.body, Body::AddWorker { .. } | Body::WorkerLocalError { .. })
    }

    pub fn job_id(&self) -> Option<&str> {
        use Body::*;
        match &self.body {
            JobRequest { job_id, .. }
            | JobResponse { job_id, .. }
            | JobUpdate { job_id, .. }
            | JobUpdateRequest { job_id }
            | JobCancel { job_id, .. }
            | JobStreamStart { job_id, .. }
            | JobStreamData { job_id, .. }
            | JobStreamEnd { job_id, .. }
            | UiJobGroupStarted { job_id, .. }
            | UiJobUpdate { job_id, .. }
            | UiJobCompleted { job_id, .. }
            | UiJobGroupCompleted { job_id, .. } => Some(job_id),
            _ => None,
        }
    }
}

impl<V: Value> fmt::Display for Message<V> {
    /// Pipecat's string form: `"<ClassName> (source=…, target=…)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (source={}, target={})", self.type_name(), self.source, self.target.as_deref().unwrap_or("None"))
    }
}

impl<V: Value> fmt::Debug for Message<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
