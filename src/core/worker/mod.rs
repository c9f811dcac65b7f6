//! A worker: activation, its place in a parent/child tree, the jobs it handles and the jobs it
//! requests, and its life from added to stopped.
//!
//! This file holds the worker's state, what it asks of its runner ([`WorkerHost`]) and how it
//! dispatches bus messages; `jobs` handles jobs (worker side), `tree` its children and the
//! workers it watches, `lifecycle` activation, attachment, start and stop; `events` and
//! `request` are the values it hands to its host.

use super::bus::{Bus, Handling, Subscriber};
use super::hash::{HashMap, HashSet};
use super::job::{JobGroup, JobParams, Requester};
use super::message::{Body, Message, SharedStr, UI_CANCEL_JOB_GROUP_EVENT};
use super::platform::{Env, LogLevel};
use super::registry::{ReadyData, Registry};
use super::sync::Flag;
use super::{ApiError, Thrown, Value};
use futures::future::LocalBoxFuture;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

mod events;
mod jobs;
mod lifecycle;
mod request;
mod tree;

use events::answer_index;
pub use events::{WorkerEvent, EVENT_NAMES, JOB_COMPLETED_EVENT};
pub use request::{JobRequest, JobRequestData, SendError, StreamPart};

/// A job handler: gets the request, returns the response (or what it threw).
pub type JobHandler<V> = Rc<dyn Fn(JobRequest<V>) -> LocalBoxFuture<'static, Result<Option<V>, Thrown<V>>>>;
pub type ReadyListener = Rc<dyn Fn(ReadyData)>;
pub type EventSink<V> = Rc<dyn Fn(WorkerEvent<V>)>;

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
    /// Shared: the attachment is cloned for every answer and stream chunk.
    runner_name: SharedStr,
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
    /// Active jobs by key (see `JobRequestData::key`), and the key of each job id.
    active_jobs: HashMap<u64, JobRequest<V>>,
    job_keys: HashMap<SharedStr, u64>,
    next_job_seq: u64,
    /// Set (and replaced) whenever the last active job ends.
    idle: Option<Flag>,
    /// Requests that arrived before the worker started.
    deferred: Vec<Rc<Message<V>>>,
    /// Cancels that arrived before their requests (most recent last).
    early_cancels: std::collections::VecDeque<(SharedStr, Rc<Message<V>>)>,
    /// Names whose readiness this worker reports (children, watchWorkers, onWorkerReady).
    watched: Vec<String>,
    watching: HashSet<String>,
    ready_listeners: Vec<(String, ReadyListener)>,
    sink: Option<EventSink<V>>,
}

pub struct WorkerInner<V: Value> {
    name: SharedStr,
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
            name: name.into(),
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
                job_keys: HashMap::default(),
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
        let mut jobs: Vec<&JobRequest<V>> = Vec::with_capacity(s.active_jobs.len());
        for job in s.active_jobs.values() {
            let at = jobs.iter().position(|j| j.key > job.key).unwrap_or(jobs.len());
            jobs.insert(at, job);
        }
        jobs.into_iter().cloned().collect()
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

    fn send(&self, attached: &Attachment<V>, target: Option<SharedStr>, body: Body<V>) {
        attached.bus.send(Message::new(&self.0.name, target, body));
    }

    /// A message about a job to its requester, routed back to the requester's runner when the
    /// request came from another runner (so a pooled requester's other instances never see it).
    fn to_requester(&self, attached: &Attachment<V>, requester: &SharedStr, requester_runner: &Option<SharedStr>, body: Body<V>) -> Message<V> {
        let message = Message::new(&self.0.name, Some(requester.clone()), body);
        match requester_runner {
            Some(runner) => message.routed(Some(attached.runner_name.clone()), Some(runner.clone())),
            None => message,
        }
    }

    // ----- requester side ------------------------------------------------------------------

    /// Starts a job group from this worker (a single job is a group of one).
    pub fn start_group(&self, workers: Vec<SharedStr>, params: JobParams<V>, with_events: bool) -> Result<JobGroup<V>, ApiError> {
        self.0.requester.start(workers, params, with_events)
    }

    pub fn requester(&self) -> &Rc<Requester<V>> {
        &self.0.requester
    }

    pub fn request_job_update(&self, job_id: &str, worker: &str) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        attached.bus.send(self.0.requester.to_member_of(job_id, worker, Body::JobUpdateRequest { job_id: job_id.into() }));
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        if let Ok(a) = self.attachment() {
            a.env.log(level, message);
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
            Body::JobRequest { job_id, job_name, payload, attempt } => worker.handle_request(message, job_id, job_name, payload, *attempt),
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
