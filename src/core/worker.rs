//! A worker: activation, its place in a parent/child tree, the jobs it handles and the jobs it
//! requests, and its life from added to stopped.

use super::bus::{Bus, Handling, Refusal, Subscriber};
use super::hash::{HashMap, HashSet};
use super::job::{AnswerEvent, AnswerKind, JobGroup, JobParams, Requester, WarningDelay};
use super::message::{Body, JobStatus, Message, UI_CANCEL_JOB_GROUP_EVENT};
use super::platform::{Env, LogLevel};
use super::reasons;
use super::registry::{ReadyData, Registry, WatchFn, WatchKey};
use super::sync::{race, AbortToken, Flag};
use super::{present, ApiError, Thrown, Value};
use futures::future::{FutureExt, LocalBoxFuture};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

/// A job handler: gets the request, returns the response (or what it threw).
pub type JobHandler<V> = Rc<dyn Fn(JobRequest<V>) -> LocalBoxFuture<'static, Result<Option<V>, Thrown<V>>>>;
pub type ReadyListener = Rc<dyn Fn(ReadyData)>;
pub type EventSink<V> = Rc<dyn Fn(WorkerEvent<V>)>;

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
    JobCompleted { job_id: String, responses: Vec<(String, V)> },
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
fn answer_index(kind: AnswerKind) -> usize {
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

/// A job as the worker handling it sees it. Cloning it shares it (one per job, however many
/// places hold it: the active jobs, the handler's task, the request event).
pub struct JobRequest<V: Value>(Rc<JobRequestData<V>>);

pub struct JobRequestData<V: Value> {
    pub id: String,
    pub name: Option<String>,
    pub payload: Option<V>,
    /// The requester.
    pub source: String,
    /// Aborted when the job is cancelled or the worker stops.
    pub abort: AbortToken,
    /// The host's own object for this request (the JavaScript `JobRequest`), kept with it.
    pub host: RefCell<Option<V>>,
    worker: Weak<WorkerInner<V>>,
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
        self.worker().is_some_and(|w| w.is_job_active(&self.id))
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Not started: requests wait until it starts.
    Created,
    Running,
    /// Accepts no new jobs; lets running handlers settle.
    Stopping,
    Stopped,
}

/// What a worker asks of the runner hosting it. The runner implements it and hands itself over
/// in [`Worker::attach`], so the worker depends on this trait, never on the runner.
pub(crate) trait WorkerHost<V: Value> {
    /// Checks workers before they are adopted (with their descendants); returns them all.
    fn check_new_workers(&self, workers: &[Worker<V>]) -> Result<Vec<Worker<V>>, ApiError>;
    /// Attaches checked workers (with their descendants) and starts them if the runner runs.
    fn host_workers(self: Rc<Self>, workers: Vec<Worker<V>>) -> LocalBoxFuture<'static, Result<(), ApiError>>;
    /// The worker registered (it started).
    fn worker_registered(&self, worker: &Worker<V>);
    /// The worker finished.
    fn worker_finished(&self, worker: &Worker<V>);
}

/// What a worker gets when a runner hosts it.
struct Attachment<V: Value> {
    env: Env,
    bus: Bus<V>,
    registry: Registry,
    runner: Weak<dyn WorkerHost<V>>,
    runner_name: String,
}

impl<V: Value> Clone for Attachment<V> {
    fn clone(&self) -> Self {
        Attachment {
            env: self.env.clone(),
            bus: self.bus.clone(),
            registry: self.registry.clone(),
            runner: self.runner.clone(),
            runner_name: self.runner_name.clone(),
        }
    }
}

struct NamedHandler<V: Value> {
    name: String,
    handler: JobHandler<V>,
    sequential: bool,
    /// For a sequential handler: the flag the next request waits for.
    tail: Option<Flag>,
}

struct WorkerState<V: Value> {
    phase: Phase,
    active: bool,
    pending_activation: bool,
    activation_args: Option<V>,
    parent: Option<String>,
    children: Vec<Worker<V>>,
    started_at: Option<f64>,
    attached: Option<Attachment<V>>,
    handlers: Vec<NamedHandler<V>>,
    default_handler: Option<JobHandler<V>>,
    active_jobs: HashMap<String, (u64, JobRequest<V>)>,
    next_job_seq: u64,
    /// Set (and replaced) whenever the last active job ends.
    idle: Option<Flag>,
    /// Requests that arrived before the worker started.
    deferred: Vec<Rc<Message<V>>>,
    /// Cancels that arrived before their requests (most recent last).
    early_cancels: std::collections::VecDeque<(String, Rc<Message<V>>)>,
    /// Names whose readiness this worker reports (children, watchWorkers, onWorkerReady).
    watched: Vec<String>,
    watching: HashSet<String>,
    ready_listeners: Vec<(String, ReadyListener)>,
    sink: Option<EventSink<V>>,
}

pub struct WorkerInner<V: Value> {
    name: String,
    /// Identifies this worker's registry watches.
    key: u64,
    /// This worker as a requester: refuses jobs until attached and after it stops.
    requester: Rc<Requester<V>>,
    event_mask: Cell<u32>,
    state: RefCell<WorkerState<V>>,
    finished: Flag,
}

/// A worker handle; clones share the same worker.
pub struct Worker<V: Value>(pub(crate) Rc<WorkerInner<V>>);

impl<V: Value> Clone for Worker<V> {
    fn clone(&self) -> Self {
        Worker(self.0.clone())
    }
}

/// How many cancels without a request a worker keeps.
const EARLY_CANCELS: usize = 256;

static NEXT_WORKER_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn not_attached(name: &str) -> ApiError {
    ApiError::Error(format!("Worker '{name}' is not attached to a runner"))
}

impl<V: Value> Worker<V> {
    pub fn new(name: &str, active: bool) -> Self {
        let key = NEXT_WORKER_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Worker(Rc::new(WorkerInner {
            name: name.to_string(),
            key,
            requester: Requester::detached(name, not_attached(name).to_string()),
            event_mask: Cell::new(0),
            state: RefCell::new(WorkerState {
                phase: Phase::Created,
                active,
                pending_activation: active,
                activation_args: None,
                parent: None,
                children: Vec::new(),
                started_at: None,
                attached: None,
                handlers: Vec::new(),
                default_handler: None,
                active_jobs: HashMap::default(),
                next_job_seq: 0,
                idle: None,
                deferred: Vec::new(),
                early_cancels: std::collections::VecDeque::new(),
                watched: Vec::new(),
                watching: HashSet::default(),
                ready_listeners: Vec::new(),
                sink: None,
            }),
            finished: Flag::new(),
        }))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }
    pub fn same_as(&self, other: &Worker<V>) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
    pub fn phase(&self) -> Phase {
        self.0.state.borrow().phase
    }
    pub fn is_active(&self) -> bool {
        self.0.state.borrow().active
    }
    pub fn activation_args(&self) -> Option<V> {
        self.0.state.borrow().activation_args.clone()
    }
    pub fn parent(&self) -> Option<String> {
        self.0.state.borrow().parent.clone()
    }
    pub fn children(&self) -> Vec<Worker<V>> {
        self.0.state.borrow().children.clone()
    }
    pub fn started_at(&self) -> Option<f64> {
        self.0.state.borrow().started_at
    }
    pub fn is_finished(&self) -> bool {
        self.0.finished.is_set()
    }
    pub fn finished(&self) -> impl std::future::Future<Output = ()> {
        self.0.finished.wait()
    }
    pub fn is_attached(&self) -> bool {
        self.0.state.borrow().attached.is_some()
    }
    fn host(&self) -> Option<Rc<dyn WorkerHost<V>>> {
        self.0.state.borrow().attached.as_ref().and_then(|a| a.runner.upgrade())
    }
    pub fn registry(&self) -> Option<Registry> {
        self.0.state.borrow().attached.as_ref().map(|a| a.registry.clone())
    }
    fn attachment(&self) -> Result<Attachment<V>, ApiError> {
        self.0.state.borrow().attached.clone().ok_or_else(|| not_attached(&self.0.name))
    }

    /// Jobs this worker is handling, in arrival order.
    pub fn active_jobs(&self) -> Vec<JobRequest<V>> {
        let s = self.0.state.borrow();
        // Insertion into place: listing is rare, and a library sort costs kilobytes of wasm.
        let mut jobs: Vec<&(u64, JobRequest<V>)> = Vec::with_capacity(s.active_jobs.len());
        for job in s.active_jobs.values() {
            let at = jobs.iter().position(|(seq, _)| *seq > job.0).unwrap_or(jobs.len());
            jobs.insert(at, job);
        }
        jobs.into_iter().map(|(_, r)| r.clone()).collect()
    }

    /// Groups this worker requested that are still open.
    pub fn job_groups(&self) -> Vec<JobGroup<V>> {
        self.0.requester.groups()
    }

    /// Which events the sink wants (bit i = `EVENT_NAMES[i]`), so unwatched events cost nothing.
    pub fn set_event_sink(&self, sink: Option<EventSink<V>>, mask: u32) {
        self.0.state.borrow_mut().sink = sink;
        self.0.event_mask.set(mask);
    }

    fn emit(&self, event: WorkerEvent<V>) {
        if self.0.event_mask.get() & (1 << event.index()) == 0 {
            return;
        }
        let sink = self.0.state.borrow().sink.clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }

    fn wants(&self, index: usize) -> bool {
        self.0.event_mask.get() & (1 << index) != 0
    }

    // ----- worker side -------------------------------------------------------------------

    /// Registers the handler for `job_name`, or the default handler when `None`.
    pub fn on_job(&self, job_name: Option<&str>, handler: JobHandler<V>, sequential: bool) -> Result<(), ApiError> {
        let mut s = self.0.state.borrow_mut();
        match job_name {
            Some(name) => {
                if s.handlers.iter().any(|h| h.name == name) {
                    return Err(ApiError::Error(format!("Worker '{}': duplicate handler for job '{name}'", self.0.name)));
                }
                s.handlers.push(NamedHandler { name: name.to_string(), handler, sequential, tail: None });
            }
            None => {
                if s.default_handler.is_some() {
                    return Err(ApiError::Error(format!("Worker '{}': a default job handler is already set", self.0.name)));
                }
                s.default_handler = Some(handler);
            }
        }
        Ok(())
    }

    /// The attachment and the request of an active job (whose `source` is its requester).
    fn active_job(&self, job_id: &str, what: &str) -> Result<(Attachment<V>, JobRequest<V>), ApiError> {
        let s = self.0.state.borrow();
        let attached = s.attached.clone().ok_or_else(|| not_attached(&self.0.name))?;
        match s.active_jobs.get(job_id) {
            Some((_, r)) => Ok((attached, r.clone())),
            None => Err(ApiError::Error(format!("Worker '{}': no active job '{job_id}' to {what}", self.0.name))),
        }
    }

    fn send(&self, attached: &Attachment<V>, target: Option<String>, body: Body<V>) {
        attached.bus.send(Message::new(&self.0.name, target, body));
    }

    /// Answers a job. A response its link refuses is replaced by an `error` answer naming why,
    /// so the requester learns at once instead of waiting for a deadline.
    pub fn send_job_response(&self, job_id: &str, response: Option<V>, status: JobStatus, urgent: bool) -> Result<(), ApiError> {
        self.answer(job_id, response, status, urgent, None)
    }

    /// The one way a job is answered; `cause` is what its handler threw, if it did.
    fn answer(&self, job_id: &str, response: Option<V>, status: JobStatus, urgent: bool, cause: Option<V>) -> Result<(), ApiError> {
        let (attached, request) = self.active_job(job_id, "respond to")?;
        let body = Body::JobResponse { job_id: job_id.to_string(), status, response, urgent };
        if let Err(refusal) = attached.bus.try_send(Message::new(&self.0.name, Some(request.source.clone()), body).with_cause(cause)) {
            let body = Body::JobResponse { job_id: job_id.to_string(), status: JobStatus::Error, response: Some(V::error_object(&refusal.message)), urgent };
            self.send(&attached, Some(request.source.clone()), body);
        }
        self.finish_job(job_id);
        Ok(())
    }

    /// A handler threw after its job was answered: nothing can answer it, so it is reported on
    /// "error" and logged. When the job had been aborted (cancelled, or the worker stopped),
    /// throwing is how a handler stops: that is logged at debug level only.
    pub fn report_handler_error(&self, job_id: &str, thrown: Thrown<V>, aborted: bool) {
        if aborted {
            self.log(LogLevel::Debug, &format!("worker '{}': the handler of aborted job '{job_id}' threw: {}", self.0.name, thrown.message));
            return;
        }
        self.log(LogLevel::Error, &format!("worker '{}': the handler of job '{job_id}' threw after the job was answered: {}", self.0.name, thrown.message));
        self.emit(WorkerEvent::Error(thrown.into_value()));
    }

    /// Sends an update or a stream chunk; a refused one fails the call (the job stays active).
    fn send_job_event(&self, job_id: &str, what: &str, body: Body<V>) -> Result<(), SendError<V>> {
        let (attached, request) = self.active_job(job_id, what)?;
        attached.bus.try_send(Message::new(&self.0.name, Some(request.source.clone()), body)).map_err(|r| {
            let noun = if what == "update" { "an update" } else { "a stream message" };
            SendError::Refused(Refusal { message: format!("Worker '{}': could not send {noun} of job '{job_id}': {}", self.0.name, r.message), cause: r.cause })
        })
    }

    pub fn send_job_update(&self, job_id: &str, update: Option<V>, urgent: bool) -> Result<(), SendError<V>> {
        self.send_job_event(job_id, "update", Body::JobUpdate { job_id: job_id.to_string(), update, urgent })
    }

    /// Stream start, data or end; the end completes the job with `data` as its response.
    pub fn send_job_stream(&self, job_id: &str, part: StreamPart, data: Option<V>) -> Result<(), SendError<V>> {
        let job_id = job_id.to_string();
        let body = match part {
            StreamPart::Start => Body::JobStreamStart { job_id: job_id.clone(), data },
            StreamPart::Data => Body::JobStreamData { job_id: job_id.clone(), data },
            StreamPart::End => Body::JobStreamEnd { job_id: job_id.clone(), data },
        };
        self.send_job_event(&job_id, "stream", body)?;
        if part == StreamPart::End {
            self.finish_job(&job_id);
        }
        Ok(())
    }

    fn finish_job(&self, job_id: &str) {
        let (finished, idle) = {
            let mut s = self.0.state.borrow_mut();
            let finished = s.active_jobs.remove(job_id);
            (finished, if s.active_jobs.is_empty() { s.idle.take() } else { None })
        };
        // The host's object may point back at the request: let both go.
        if let Some((_, request)) = finished {
            request.host.borrow_mut().take();
        }
        if let Some(f) = idle {
            f.set();
        }
    }

    /// Sends any bus message this worker built itself (`worker.sendBusMessage`): frames, TTS,
    /// UI carriers, data. It goes out like the worker's own messages, to local subscribers and
    /// every link alike. Its source must be this worker; local-only types are refused.
    pub fn send_bus_message(&self, message: Message<V>) -> Result<(), ApiError> {
        if message.source != self.0.name {
            return Err(ApiError::Type(format!("message.source must be this worker's name '{}' (or left out), got '{}'", self.0.name, message.source)));
        }
        if message.is_local() {
            return Err(ApiError::Type(format!("message.type {} is local-only and never goes on a bus", message.type_name())));
        }
        let attached = self.attachment()?;
        attached.bus.send(message);
        Ok(())
    }

    /// Reports a failure: a child's parent gets "workerFailed"; a root broadcasts it.
    pub fn send_bus_error_message(&self, error: &str) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        let body = match self.parent() {
            Some(_) => Body::WorkerLocalError { error: error.to_string() },
            None => Body::WorkerError { error: error.to_string() },
        };
        self.send(&attached, None, body);
        Ok(())
    }

    fn handle_request(&self, message: &Rc<Message<V>>, job_id: &str, job_name: &Option<String>, payload: &Option<V>) {
        let Ok(attached) = self.attachment() else { return };
        let phase = self.phase();
        if phase == Phase::Created {
            self.0.state.borrow_mut().deferred.push(message.clone());
            return;
        }
        if phase >= Phase::Stopping {
            let reason = reasons::stopped(&self.0.name);
            let body = Body::JobResponse {
                job_id: job_id.to_string(),
                status: JobStatus::Cancelled,
                response: Some(V::reason_object(&reason)),
                urgent: false,
            };
            self.send(&attached, Some(message.source.clone()), body);
            return;
        }
        let early = {
            let mut s = self.0.state.borrow_mut();
            let at = s.early_cancels.iter().position(|(id, _)| id == job_id);
            at.and_then(|i| s.early_cancels.remove(i))
        };
        if let Some((_, cancel)) = early {
            let reason = match &cancel.body {
                Body::JobCancel { reason, .. } => reason.clone(),
                _ => None,
            };
            let body = Body::JobResponse { job_id: job_id.to_string(), status: JobStatus::Cancelled, response: reason.as_deref().map(V::reason_object), urgent: false };
            self.send(&attached, Some(message.source.clone()), body);
            self.emit(WorkerEvent::JobCancelled(cancel));
            return;
        }
        let request = JobRequest(Rc::new(JobRequestData {
            id: job_id.to_string(),
            name: job_name.clone(),
            payload: payload.clone(),
            source: message.source.clone(),
            abort: AbortToken::new(),
            host: RefCell::new(None),
            worker: Rc::downgrade(&self.0),
        }));
        let (handler, tail) = {
            let mut s = self.0.state.borrow_mut();
            let seq = s.next_job_seq;
            s.next_job_seq += 1;
            s.active_jobs.insert(job_id.to_string(), (seq, request.clone()));
            match job_name.as_deref().and_then(|n| s.handlers.iter_mut().find(|h| h.name == n)) {
                Some(h) => {
                    let tail = h.sequential.then(|| {
                        let mine = Flag::new();
                        (h.tail.replace(mine.clone()), mine)
                    });
                    (Some(h.handler.clone()), tail)
                }
                None => (s.default_handler.clone(), None),
            }
        };
        match handler {
            Some(handler) => attached.env.spawn(Box::pin(run_handler(self.clone(), handler, request.clone(), tail))),
            None => {
                let error = match job_name {
                    Some(n) => format!("no handler for job '{n}'"),
                    None => "no handler for job".to_string(),
                };
                let _ = self.send_job_response(job_id, Some(V::error_object(&error)), JobStatus::Error, false);
            }
        }
        self.emit(WorkerEvent::JobRequest(request));
    }

    fn is_job_active(&self, job_id: &str) -> bool {
        self.0.state.borrow().active_jobs.contains_key(job_id)
    }

    fn handle_cancel(&self, message: &Rc<Message<V>>, job_id: &str, reason: &Option<String>) {
        let request = self.0.state.borrow().active_jobs.get(job_id).map(|(_, r)| r.clone());
        let Some(request) = request else {
            // A cancel (system lane) can overtake its own request (data lane): keep it for the
            // request, so that the job never starts. Cancels for finished jobs fall off the end.
            let mut s = self.0.state.borrow_mut();
            if !s.early_cancels.iter().any(|(id, _)| id == job_id) {
                if s.early_cancels.len() == EARLY_CANCELS {
                    s.early_cancels.pop_front();
                }
                s.early_cancels.push_back((job_id.to_string(), message.clone()));
            }
            return;
        };
        request.abort.abort(reason.as_deref().unwrap_or(reasons::CANCELLED));
        if self.is_job_active(job_id) {
            let response = reason.as_deref().map(V::reason_object);
            let _ = self.send_job_response(job_id, response, JobStatus::Cancelled, false);
        }
        self.emit(WorkerEvent::JobCancelled(message.clone()));
    }

    /// Requesters that are gone cannot take answers: their jobs here are aborted and dropped.
    pub(crate) fn requesters_gone(&self, names: &HashSet<String>) {
        for job in self.active_jobs().into_iter().filter(|j| names.contains(&j.source)) {
            job.abort.abort(&reasons::stopped(&job.source));
            self.finish_job(&job.id);
        }
    }

    /// Remote workers are gone: the groups this worker requested from them fail.
    pub(crate) fn workers_gone(&self, names: &HashSet<String>) {
        for event in self.0.requester.workers_gone(names) {
            self.emit(event.into());
        }
    }

    // ----- requester side ------------------------------------------------------------------

    /// Starts a job group from this worker (a single job is a group of one).
    pub fn start_group(&self, workers: Vec<String>, params: JobParams<V>, with_events: bool) -> Result<JobGroup<V>, ApiError> {
        self.0.requester.start(workers, params, with_events)
    }

    pub fn requester(&self) -> &Rc<Requester<V>> {
        &self.0.requester
    }

    pub fn request_job_update(&self, job_id: &str, worker: &str) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        self.send(&attached, Some(worker.to_string()), Body::JobUpdateRequest { job_id: job_id.to_string() });
        Ok(())
    }

    // ----- activation --------------------------------------------------------------------

    pub fn activate_worker(&self, name: &str, args: Option<V>, deactivate_self: bool) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        if deactivate_self && self.is_active() {
            self.0.state.borrow_mut().active = false;
            self.send(&attached, Some(self.0.name.clone()), Body::DeactivateWorker);
        }
        self.send(&attached, Some(name.to_string()), Body::ActivateWorker { args });
        Ok(())
    }

    pub fn deactivate_worker(&self, name: &str) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        self.send(&attached, Some(name.to_string()), Body::DeactivateWorker);
        Ok(())
    }

    fn handle_activate(&self, args: &Option<V>) {
        let fire = {
            let mut s = self.0.state.borrow_mut();
            s.activation_args = present(args.clone());
            s.pending_activation = true;
            self.take_pending_activation(&mut s)
        };
        if let Some(args) = fire {
            self.emit(WorkerEvent::Activated(args));
        }
    }

    /// Activation fires only once the worker has started (Pipecat's pending activation).
    fn take_pending_activation(&self, s: &mut WorkerState<V>) -> Option<Option<V>> {
        if s.pending_activation && s.phase >= Phase::Running {
            s.pending_activation = false;
            s.active = true;
            Some(s.activation_args.clone())
        } else {
            None
        }
    }

    fn handle_deactivate(&self) {
        {
            let mut s = self.0.state.borrow_mut();
            s.active = false;
            s.activation_args = None;
        }
        self.emit(WorkerEvent::Deactivated);
    }

    // ----- tree and readiness --------------------------------------------------------------

    /// Adopts children; they are hosted by this worker's runner (now, or once it has one) and
    /// their readiness is reported with "workerReady".
    pub async fn add_workers(&self, children: Vec<Worker<V>>) -> Result<(), ApiError> {
        for (i, c) in children.iter().enumerate() {
            if c.same_as(self) {
                return Err(ApiError::Error(format!("Worker '{}' cannot be its own child", self.0.name)));
            }
            if let Some(p) = c.parent() {
                return Err(ApiError::Error(format!("Worker '{}' already has a parent '{p}'", c.name())));
            }
            if children[..i].iter().any(|o| o.same_as(c)) {
                return Err(ApiError::Type(format!("workers has '{}' more than once", c.name())));
            }
        }
        if let Some(runner) = self.host() {
            runner.check_new_workers(&children)?;
        }
        for c in &children {
            c.0.state.borrow_mut().parent = Some(self.0.name.clone());
            self.0.state.borrow_mut().children.push(c.clone());
        }
        if let Some(runner) = self.host() {
            // Hosted at once (Pipecat loses children added before its runner runs), then
            // announced as Pipecat does; the runner takes the message as done.
            runner.host_workers(children.clone()).await?;
            if let Ok(attached) = self.attachment() {
                for c in &children {
                    self.send(&attached, None, Body::AddWorker { worker: c.name().to_string() });
                }
            }
        }
        self.watch_names(children.iter().map(|c| c.name().to_string()).collect()).await;
        Ok(())
    }

    /// Reports "workerReady" for each name when it registers (at once if it already has).
    pub async fn watch_workers(&self, names: Vec<String>) -> Result<(), ApiError> {
        self.attachment()?;
        self.watch_names(names).await;
        Ok(())
    }

    async fn watch_names(&self, names: Vec<String>) {
        {
            let mut s = self.0.state.borrow_mut();
            for n in &names {
                if !s.watched.contains(n) {
                    s.watched.push(n.clone());
                }
            }
        }
        if self.phase() == Phase::Running {
            for n in names {
                self.install_watch(&n).await;
            }
        }
    }

    /// Calls `listener` when `name` is ready (at once if it is and this worker runs).
    pub async fn on_worker_ready(&self, name: &str, listener: ReadyListener) {
        let already_watching = {
            let mut s = self.0.state.borrow_mut();
            s.ready_listeners.push((name.to_string(), listener.clone()));
            if !s.watched.iter().any(|n| n == name) {
                s.watched.push(name.to_string());
            }
            s.watching.contains(name)
        };
        if self.phase() != Phase::Running {
            return;
        }
        if already_watching {
            if let Some(data) = self.registry().and_then(|r| r.get(name)) {
                call_ready_listener(self, &listener, data);
            }
        } else {
            self.install_watch(name).await;
        }
    }

    async fn install_watch(&self, name: &str) {
        let Ok(attached) = self.attachment() else { return };
        if !self.0.state.borrow_mut().watching.insert(name.to_string()) {
            return;
        }
        let weak = Rc::downgrade(&self.0);
        let handler: WatchFn = Rc::new(move |data: ReadyData| {
            if let Some(inner) = weak.upgrade() {
                Worker(inner).worker_ready(data);
            }
            Box::pin(async {})
        });
        attached.registry.watch(name, Some(WatchKey::Worker(self.0.key)), handler).await;
    }

    fn worker_ready(&self, data: ReadyData) {
        let listeners: Vec<ReadyListener> = self
            .0
            .state
            .borrow()
            .ready_listeners
            .iter()
            .filter(|(n, _)| *n == data.worker_name)
            .map(|(_, l)| l.clone())
            .collect();
        for l in listeners {
            call_ready_listener(self, &l, data.clone());
        }
        self.emit(WorkerEvent::WorkerReady(data));
    }

    // ----- lifecycle -----------------------------------------------------------------------

    pub(crate) fn attach(&self, runner: Weak<dyn WorkerHost<V>>, runner_name: &str, not_ready_warning: WarningDelay, env: Env, bus: Bus<V>, registry: Registry) -> Result<(), ApiError> {
        let subscriber: Rc<dyn Subscriber<V>> = self.0.clone();
        bus.subscribe(&self.0.name, subscriber).map_err(ApiError::Error)?;
        self.0.requester.attach(env.clone(), bus.clone(), registry.clone(), not_ready_warning);
        self.0.state.borrow_mut().attached = Some(Attachment { env, bus, registry, runner, runner_name: runner_name.to_string() });
        Ok(())
    }

    /// Starts the worker: announces it, registers it (its watchers run), fires a pending
    /// activation, watches the names it reports on, then handles requests that waited.
    pub(crate) async fn start(&self) {
        let Ok(attached) = self.attachment() else { return };
        let (started_at, parent, active) = {
            let mut s = self.0.state.borrow_mut();
            if s.phase != Phase::Created {
                return;
            }
            s.phase = Phase::Running;
            let now = attached.env.now();
            s.started_at = Some(now);
            // Pipecat announces `active` as it is before a pending activation fires, so a
            // worker activated by a message before it started announces `false`.
            (now, s.parent.clone(), s.active)
        };
        let ready = Body::WorkerReady { runner: attached.runner_name.clone(), parent, active, bridged: false, started_at: Some(started_at) };
        self.send(&attached, None, ready);
        attached.registry.register(ReadyData { worker_name: self.0.name.clone(), runner: attached.runner_name.clone() }).await;
        if let Some(runner) = attached.runner.upgrade() {
            runner.worker_registered(self);
        }
        let fire = {
            let mut s = self.0.state.borrow_mut();
            self.take_pending_activation(&mut s)
        };
        if let Some(args) = fire {
            self.emit(WorkerEvent::Activated(args));
        }
        let watched = self.0.state.borrow().watched.clone();
        for name in watched {
            self.install_watch(&name).await;
        }
        let deferred = std::mem::take(&mut self.0.state.borrow_mut().deferred);
        for m in deferred {
            if let Body::JobRequest { job_id, job_name, payload } = &m.body {
                self.handle_request(&m, job_id, job_name, payload);
            }
        }
    }

    /// Stops this worker and its children gracefully: no new jobs, running handlers get
    /// `grace_ms` (unbounded when `None`) to settle, then the rest are aborted. Resolves when
    /// the worker has finished. A worker not attached to a runner has nothing to stop: that is
    /// the caller's mistake, reported like every other method that needs a runner.
    pub async fn stop(&self, reason: Option<String>, grace_ms: Option<f64>) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        match self.phase() {
            Phase::Created => {
                self.cancel_children(&attached, &reason);
                self.finalize(reason.as_deref());
                return Ok(());
            }
            Phase::Running => self.0.state.borrow_mut().phase = Phase::Stopping,
            Phase::Stopping | Phase::Stopped => {
                self.finished().await;
                return Ok(());
            }
        }
        let children = self.children();
        for c in &children {
            self.send(&attached, Some(c.name().to_string()), Body::EndWorker { reason: reason.clone() });
        }
        let settle = async {
            for c in &children {
                c.finished().await;
            }
            self.wait_idle().await;
        };
        let grace = async {
            match grace_ms {
                Some(ms) => attached.env.sleep(ms, true).await,
                None => futures::future::pending::<()>().await,
            }
        };
        if !race(race(settle, self.finished()).map(|_| ()), grace).await {
            self.cancel(reason.clone());
        }
        self.finalize(reason.as_deref());
        Ok(())
    }

    async fn wait_idle(&self) {
        loop {
            let flag = {
                let mut s = self.0.state.borrow_mut();
                if s.active_jobs.is_empty() {
                    return;
                }
                s.idle.get_or_insert_with(Flag::new).clone()
            };
            flag.wait().await;
        }
    }

    /// Stops at once: children are told to cancel, running handlers are aborted.
    pub fn cancel(&self, reason: Option<String>) {
        if self.phase() == Phase::Stopped {
            return;
        }
        if let Ok(attached) = self.attachment() {
            self.cancel_children(&attached, &reason);
        }
        self.finalize(reason.as_deref());
    }

    fn cancel_children(&self, attached: &Attachment<V>, reason: &Option<String>) {
        for c in self.children() {
            self.send(attached, Some(c.name().to_string()), Body::CancelWorker { reason: reason.clone() });
        }
    }

    /// The end of every stop: requested groups fail, handled jobs are answered "stopped", the
    /// worker leaves the registry and the bus, and "finished" fires.
    fn finalize(&self, _reason: Option<&str>) {
        let attached = {
            let mut s = self.0.state.borrow_mut();
            if s.phase == Phase::Stopped {
                return;
            }
            s.phase = Phase::Stopped;
            s.attached.clone()
        };
        let stopped = reasons::stopped(&self.0.name);
        if let Some(attached) = &attached {
            self.0.requester.close(&stopped, format!("Worker '{}' has stopped", self.0.name));
            for job in self.active_jobs() {
                job.abort.abort(&stopped);
                let _ = self.send_job_response(&job.id, Some(V::reason_object(&stopped)), JobStatus::Cancelled, false);
            }
            let deferred = std::mem::take(&mut self.0.state.borrow_mut().deferred);
            for m in deferred {
                if let Body::JobRequest { job_id, .. } = &m.body {
                    let body = Body::JobResponse {
                        job_id: job_id.clone(),
                        status: JobStatus::Cancelled,
                        response: Some(V::reason_object(&stopped)),
                        urgent: false,
                    };
                    self.send(attached, Some(m.source.clone()), body);
                }
            }
            attached.registry.unregister_local(&self.0.name);
            let watching: Vec<String> = self.0.state.borrow_mut().watching.drain().collect();
            for name in watching {
                attached.registry.unwatch_key(&name, WatchKey::Worker(self.0.key));
            }
            attached.bus.unsubscribe(&self.0.name);
        }
        self.0.finished.set();
        self.emit(WorkerEvent::Finished);
        if let Some(runner) = attached.and_then(|a| a.runner.upgrade()) {
            runner.worker_finished(self);
        }
    }

    /// Asks every runner on the bus to end (`BusEndMessage`).
    pub fn end_session(&self, reason: Option<String>) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        self.send(&attached, None, Body::End { reason });
        Ok(())
    }

    /// Asks every runner on the bus to cancel (`BusCancelMessage`).
    pub fn cancel_session(&self, reason: Option<String>) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        self.send(&attached, None, Body::Cancel { reason });
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        if let Ok(a) = self.attachment() {
            a.env.log(level, message);
        }
    }
}

fn call_ready_listener<V: Value>(worker: &Worker<V>, listener: &ReadyListener, data: ReadyData) {
    let _ = worker;
    listener(data);
}

/// Runs one handler (after the previous one of a sequential name) and answers for it when it
/// settles while the job is still active.
async fn run_handler<V: Value>(worker: Worker<V>, handler: JobHandler<V>, request: JobRequest<V>, tail: Option<(Option<Flag>, Flag)>) {
    if let Some((Some(previous), _)) = &tail {
        race(previous.wait(), request.abort.wait()).await;
    }
    if worker.is_job_active(&request.id) {
        let result = handler(request.clone()).await;
        if worker.is_job_active(&request.id) {
            let answered = match result {
                Ok(response) => worker.send_job_response(&request.id, Some(present(response).unwrap_or_else(V::empty_object)), JobStatus::Completed, false),
                Err(thrown) => {
                    let cause = thrown.clone().into_value();
                    worker.answer(&request.id, Some(V::error_object(&thrown.message)), JobStatus::Error, false, Some(cause))
                }
            };
            if let Err(e) = answered {
                worker.log(LogLevel::Warn, &e.to_string());
            }
        } else if let Err(thrown) = result {
            worker.report_handler_error(&request.id, thrown, request.abort.is_aborted());
        }
    }
    if let Some((previous, mine)) = tail {
        // A job cancelled while queued skipped its turn, but the next one still waits for
        // the one before it: the chain releases in order.
        if let Some(previous) = previous {
            previous.wait().await;
        }
        mine.set();
        let mut s = worker.0.state.borrow_mut();
        if let Some(h) = s.handlers.iter_mut().find(|h| Some(&h.name) == request.name.as_ref()) {
            if h.tail.as_ref().is_some_and(|t| t.same_as(&mine)) {
                h.tail = None;
            }
        }
    }
}

impl<V: Value> Subscriber<V> for WorkerInner<V> {
    fn on_message(self: Rc<Self>, message: &Rc<Message<V>>) -> Handling {
        if matches!(message.body, Body::Frame { .. }) {
            return Ok(None);
        }
        if message.target.as_deref().is_some_and(|t| t != self.name) {
            return Ok(None);
        }
        let worker = Worker(self);
        let source = message.source.as_str();
        match &message.body {
            Body::WorkerError { error } | Body::WorkerLocalError { error } => {
                if worker.children().iter().any(|c| c.name() == source) {
                    worker.emit(WorkerEvent::WorkerFailed { worker_name: source.to_string(), error: error.clone() });
                }
            }
            Body::ActivateWorker { args } => worker.handle_activate(args),
            Body::DeactivateWorker => worker.handle_deactivate(),
            Body::EndWorker { reason } => {
                if let Ok(a) = worker.attachment() {
                    let (w, reason) = (worker.clone(), reason.clone());
                    a.env.spawn(Box::pin(async move {
                        let _ = w.stop(reason, None).await;
                    }));
                }
            }
            Body::CancelWorker { reason } => worker.cancel(reason.clone()),
            Body::JobRequest { job_id, job_name, payload } => worker.handle_request(message, job_id, job_name, payload),
            Body::JobUpdateRequest { job_id } => {
                if worker.is_job_active(job_id) {
                    worker.emit(WorkerEvent::JobUpdateRequested(message.clone()));
                }
            }
            Body::JobCancel { job_id, reason } => worker.handle_cancel(message, job_id, reason),
            Body::UiEvent { event_name, payload } if event_name == UI_CANCEL_JOB_GROUP_EVENT && worker.0.requester.is_ui() => {
                if let Err(why) = worker.0.requester.handle_ui_cancel(payload) {
                    worker.log(LogLevel::Warn, &why);
                }
            }
            _ => {
                if let Some(events) = worker.0.requester.on_message(message, &|kind| worker.wants(answer_index(kind))) {
                    for e in events {
                        worker.emit(e.into());
                    }
                }
            }
        }
        if worker.wants(14) {
            worker.emit(WorkerEvent::BusMessage(message.clone()));
        }
        Ok(None)
    }
}
