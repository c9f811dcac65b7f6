//! Jobs from the requester's side: groups, deadlines, responses, events and failures.
//!
//! A job to one worker is a group of one with `cancel_on_error`. A group is created at once
//! (so it can buffer events and be cancelled before it is sent), waits for its workers to be
//! ready within the one deadline that also bounds the job, then sends one request per worker
//! and settles exactly once: completed when every worker answered, or failed with a reason.

use super::bus::Bus;
use super::hash::{HashMap, HashSet};
use super::message::{Body, JobStatus, Message};
use super::platform::{new_uuid, Env, LogLevel};
use super::reasons;
use super::registry::Registry;
use super::sync::{race, Flag};
use super::{present, ApiError, Value};
use futures::future::{abortable, AbortHandle, FutureExt};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

/// What a requester asks for. Durations are milliseconds.
#[derive(Clone)]
pub struct JobParams<V: Value> {
    pub name: Option<String>,
    pub payload: Option<V>,
    pub timeout: Option<f64>,
    pub label: Option<String>,
    pub cancellable: bool,
    pub cancel_on_error: bool,
}

impl<V: Value> Default for JobParams<V> {
    fn default() -> Self {
        JobParams { name: None, payload: None, timeout: None, label: None, cancellable: true, cancel_on_error: true }
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

/// One update or stream message, as a context's iterator yields it.
#[derive(Clone)]
pub struct JobEvent<V: Value> {
    pub kind: JobEventKind,
    pub worker_name: String,
    pub data: Option<V>,
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
    pub responses: Vec<(String, V)>,
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

/// A job group as its requester holds it.
pub struct JobGroup<V: Value>(Rc<GroupInner<V>>);

impl<V: Value> Clone for JobGroup<V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct GroupInner<V: Value> {
    worker_names: Vec<String>,
    /// The names again, for groups too large to search (see [`SMALL`]).
    members: Option<HashSet<String>>,
    label: Option<String>,
    cancellable: bool,
    cancel_on_error: bool,
    state: RefCell<GroupState<V>>,
    settled: Flag,
}

struct GroupState<V: Value> {
    job_id: Option<String>,
    /// The request to send once the workers are ready.
    request: Option<(Option<String>, Option<V>)>,
    responses: Vec<(String, V)>,
    /// Where each worker's response is in `responses`, once there are more than [`SMALL`].
    answered: HashMap<String, usize>,
    /// How many members of the group have answered (a group of 1000 checks this in O(1)).
    members_answered: usize,
    terminated: NameSet,
    last_status: Option<JobStatus>,
    /// Buffered events; only groups made for a context keep them.
    events: Option<VecDeque<JobEvent<V>>>,
    outcome: Option<Outcome<V>>,
    deadline: Option<AbortHandle>,
    on_change: Vec<(u64, Rc<dyn Fn()>)>,
    next_listener: u64,
}

/// Up to this many names are searched in a list rather than hashed: most jobs have one
/// worker, and a table per job (with a copy of each name) cost more than the search.
const SMALL: usize = 8;

/// A set of names: a list while small, a table beyond [`SMALL`].
#[derive(Default)]
struct NameSet {
    list: Vec<String>,
    table: HashSet<String>,
}

impl NameSet {
    fn contains(&self, name: &str) -> bool {
        if self.list.len() <= SMALL {
            self.list.iter().any(|n| n == name)
        } else {
            self.table.contains(name)
        }
    }
    fn insert(&mut self, name: &str) {
        if self.contains(name) {
            return;
        }
        self.list.push(name.to_string());
        match self.list.len() {
            n if n == SMALL + 1 => self.table = self.list.iter().cloned().collect(),
            n if n > SMALL + 1 => {
                self.table.insert(name.to_string());
            }
            _ => {}
        }
    }
}

impl<V: Value> GroupState<V> {
    fn answer_index(&self, worker: &str) -> Option<usize> {
        if self.responses.len() <= SMALL {
            self.responses.iter().position(|(n, _)| n == worker)
        } else {
            self.answered.get(worker).copied()
        }
    }
}

impl<V: Value> GroupInner<V> {
    fn is_member(&self, name: &str) -> bool {
        match &self.members {
            Some(table) => table.contains(name),
            None => self.worker_names.iter().any(|n| n == name),
        }
    }
}

impl<V: Value> JobGroup<V> {
    pub fn job_id(&self) -> Option<String> {
        self.0.state.borrow().job_id.clone()
    }
    pub fn worker_names(&self) -> &[String] {
        &self.0.worker_names
    }
    pub fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    pub fn cancellable(&self) -> bool {
        self.0.cancellable
    }
    pub fn cancel_on_error(&self) -> bool {
        self.0.cancel_on_error
    }
    pub fn responses(&self) -> Vec<(String, V)> {
        self.0.state.borrow().responses.clone()
    }
    /// `f` over the responses in place, without copying them. `f` must not touch the group.
    pub fn with_responses<R>(&self, f: impl FnOnce(&[(String, V)]) -> R) -> R {
        f(&self.0.state.borrow().responses)
    }
    pub fn response_of(&self, worker: &str) -> Option<V> {
        let s = self.0.state.borrow();
        s.answer_index(worker).map(|i| s.responses[i].1.clone())
    }
    /// The status of the latest answer a worker gave.
    pub fn last_status(&self) -> Option<JobStatus> {
        self.0.state.borrow().last_status
    }
    pub fn outcome(&self) -> Option<Outcome<V>> {
        self.0.state.borrow().outcome.clone()
    }
    pub fn is_done(&self) -> bool {
        self.0.settled.is_set()
    }
    pub fn is_sent(&self) -> bool {
        self.0.state.borrow().job_id.is_some()
    }
    /// Resolves once the group has settled.
    pub async fn wait(&self) -> Outcome<V> {
        self.0.settled.wait().await;
        self.outcome().expect("a settled group has an outcome")
    }
    /// `f` is called (with no borrow held) whenever the group is sent, gets an event or
    /// settles, until removed with the returned id.
    pub fn add_on_change(&self, f: Rc<dyn Fn()>) -> u64 {
        let mut s = self.0.state.borrow_mut();
        s.next_listener += 1;
        let id = s.next_listener;
        s.on_change.push((id, f));
        id
    }
    pub fn remove_on_change(&self, id: u64) {
        self.0.state.borrow_mut().on_change.retain(|(i, _)| *i != id);
    }
    pub fn next_event(&self) -> NextEvent<V> {
        let mut s = self.0.state.borrow_mut();
        if let Some(ev) = s.events.as_mut().and_then(VecDeque::pop_front) {
            return NextEvent::Event(ev);
        }
        match &s.outcome {
            Some(Outcome::Completed) => NextEvent::Completed,
            Some(Outcome::Failed(f)) => NextEvent::Failed(f.clone()),
            None => NextEvent::Pending,
        }
    }
    fn notify(&self) {
        // The listeners as they are now, called with no borrow held (they may add or remove
        // listeners); a context is usually the only one, and needs no list.
        let (only, all): (Option<Rc<dyn Fn()>>, Vec<Rc<dyn Fn()>>) = {
            let s = self.0.state.borrow();
            match s.on_change.as_slice() {
                [] => return,
                [(_, f)] => (Some(f.clone()), Vec::new()),
                many => (None, many.iter().map(|(_, f)| f.clone()).collect()),
            }
        };
        only.into_iter().chain(all).for_each(|f| f());
    }
    fn push_event(&self, kind: JobEventKind, worker_name: &str, data: Option<V>) {
        let pushed = {
            let mut s = self.0.state.borrow_mut();
            let open = s.outcome.is_none();
            match s.events.as_mut() {
                Some(q) if open => {
                    q.push_back(JobEvent { kind, worker_name: worker_name.to_string(), data });
                    true
                }
                _ => false,
            }
        };
        if pushed {
            self.notify();
        }
    }
    fn record(&self, worker: &str, response: Option<V>) {
        let value = present(response).unwrap_or_else(V::empty_object);
        let mut s = self.0.state.borrow_mut();
        match s.answer_index(worker) {
            Some(i) => s.responses[i].1 = value,
            None => {
                let i = s.responses.len();
                s.responses.push((worker.to_string(), value));
                if i == SMALL {
                    let index = s.responses.iter().enumerate().map(|(i, (w, _))| (w.clone(), i)).collect();
                    s.answered = index;
                } else if i > SMALL {
                    s.answered.insert(worker.to_string(), i);
                }
                if self.0.is_member(worker) {
                    s.members_answered += 1;
                }
            }
        }
    }
    fn all_answered(&self) -> bool {
        self.0.state.borrow().members_answered == self.0.worker_names.len()
    }
    /// Settles once; later calls do nothing. Returns whether this call settled it.
    fn settle(&self, outcome: Outcome<V>) -> bool {
        let deadline = {
            let mut s = self.0.state.borrow_mut();
            if s.outcome.is_some() {
                return false;
            }
            s.outcome = Some(outcome);
            s.request = None;
            s.deadline.take()
        };
        if let Some(d) = deadline {
            d.abort();
        }
        self.0.settled.set();
        self.notify();
        true
    }
    fn fail(&self, mut failure: JobFailure<V>) -> bool {
        failure.responses = self.responses();
        self.settle(Outcome::Failed(Rc::new(failure)))
    }
}

/// How long a job may wait for workers that are not ready before a warning names them, by
/// default: long enough for workers that are merely starting (a Web Worker loading its wasm, a
/// remote runner announcing itself), short enough that a misspelt name is not a silent hang.
pub const NOT_READY_WARNING_MS: f64 = 5000.0;

/// The runner's setting of that delay, shared with its workers' requesters.
pub type WarningDelay = Rc<Cell<f64>>;

/// Where a requester sends from.
struct Link<V: Value> {
    env: Env,
    bus: Bus<V>,
    registry: Registry,
    not_ready_warning: WarningDelay,
}

impl<V: Value> Clone for Link<V> {
    fn clone(&self) -> Self {
        Link {
            env: self.env.clone(),
            bus: self.bus.clone(),
            registry: self.registry.clone(),
            not_ready_warning: self.not_ready_warning.clone(),
        }
    }
}

/// The requester side shared by workers and runners: the groups one identity has open.
pub struct Requester<V: Value> {
    owner: String,
    link: RefCell<Option<Link<V>>>,
    /// Why new groups are refused (not attached yet, or stopped); `None` while open.
    refusal: RefCell<Option<String>>,
    /// Sent groups by job id.
    groups: RefCell<HashMap<String, JobGroup<V>>>,
    /// Groups still waiting for their workers, in creation order.
    waiting: RefCell<Vec<JobGroup<V>>>,
    /// Pipecat's `BaseUIWorker`: every group's lifecycle is broadcast as UI messages.
    ui: std::cell::Cell<bool>,
}

impl<V: Value> Requester<V> {
    /// A requester that refuses every group with `refusal` until it is attached.
    pub fn detached(owner: &str, refusal: String) -> Rc<Self> {
        Rc::new(Requester {
            owner: owner.to_string(),
            link: RefCell::new(None),
            refusal: RefCell::new(Some(refusal)),
            groups: RefCell::new(HashMap::default()),
            waiting: RefCell::new(Vec::new()),
            ui: std::cell::Cell::new(false),
        })
    }

    pub fn new(owner: &str, env: Env, bus: Bus<V>, registry: Registry, not_ready_warning: WarningDelay) -> Rc<Self> {
        let requester = Self::detached(owner, String::new());
        requester.attach(env, bus, registry, not_ready_warning);
        requester
    }

    pub fn attach(&self, env: Env, bus: Bus<V>, registry: Registry, not_ready_warning: WarningDelay) {
        *self.link.borrow_mut() = Some(Link { env, bus, registry, not_ready_warning });
        *self.refusal.borrow_mut() = None;
    }

    /// Refuses new groups from now on and fails everything open with `reason`.
    pub fn close(&self, reason: &str, refusal: String) {
        *self.refusal.borrow_mut() = Some(refusal);
        self.cancel_all(reason);
    }

    /// Fails with the refusal while not attached (nothing can be open then).
    pub fn ensure_attached(&self) -> Result<(), ApiError> {
        match (self.link.borrow().is_some(), self.refusal.borrow().clone()) {
            (false, Some(refusal)) => Err(ApiError::Error(refusal)),
            _ => Ok(()),
        }
    }

    fn link(&self) -> Option<Link<V>> {
        self.link.borrow().clone()
    }

    /// Makes this requester report its groups to a client UI, as Pipecat's `BaseUIWorker`.
    pub fn set_ui(&self, on: bool) {
        self.ui.set(on);
    }

    pub fn is_ui(&self) -> bool {
        self.ui.get()
    }

    /// The client's `__cancel_job_group` event: `payload.job_id` (a non-empty string) names the
    /// group, `payload.reason` (a string) is the reason, `"cancelled by user"` by default. As a
    /// cancel request, unknown and non-cancellable groups are left alone. `Err` says why a
    /// malformed event is ignored.
    pub fn handle_ui_cancel(&self, payload: &Option<V>) -> Result<(), String> {
        let job_id = payload.as_ref().and_then(|p| p.string_field("job_id")).filter(|id| !id.is_empty());
        let Some(job_id) = job_id else {
            return Err(format!("'{}' ignored a {} event without a job_id string in its payload", self.owner, super::message::UI_CANCEL_JOB_GROUP_EVENT));
        };
        let reason = payload.as_ref().and_then(|p| p.string_field("reason")).unwrap_or_else(|| "cancelled by user".into());
        self.request_cancel(&job_id, Some(reason));
        Ok(())
    }

    /// Broadcasts a UI lifecycle message (a UI requester only); `at` is now, in epoch ms.
    fn tell_ui(&self, body: impl FnOnce(f64) -> Body<V>) {
        if !self.ui.get() {
            return;
        }
        if let Some(link) = self.link() {
            let at = link.env.now().floor();
            link.bus.send(Message::new(&self.owner, None, body(at)));
        }
    }

    fn tell_ui_completed(&self, job_id: &str, worker: &str, status: JobStatus, response: Option<V>) {
        let (job_id, worker_name, status) = (job_id.to_string(), worker.to_string(), status.as_str().to_string());
        self.tell_ui(|at| Body::UiJobCompleted { job_id, worker_name, status, response, at });
    }

    fn tell_ui_group_completed(&self, job_id: &str) {
        let job_id = job_id.to_string();
        self.tell_ui(|at| Body::UiJobGroupCompleted { job_id, at });
    }

    /// Open (sent, unfinished) groups.
    pub fn groups(&self) -> Vec<JobGroup<V>> {
        self.groups.borrow().values().cloned().collect()
    }

    pub fn group(&self, job_id: &str) -> Option<JobGroup<V>> {
        self.groups.borrow().get(job_id).cloned()
    }

    /// How many groups are open or waiting (for leak checks).
    pub fn open_count(&self) -> usize {
        self.groups.borrow().len() + self.waiting.borrow().len()
    }

    /// Creates a group and sends it as soon as its workers are ready, never before the caller
    /// has had a chance to cancel it (the send runs as a task). `with_events` keeps its update
    /// and stream events for an iterator.
    pub fn start(
        self: &Rc<Self>,
        worker_names: Vec<String>,
        params: JobParams<V>,
        with_events: bool,
    ) -> Result<JobGroup<V>, ApiError> {
        check_group(&worker_names, &params)?;
        if let Some(refusal) = self.refusal.borrow().clone() {
            return Err(ApiError::Error(refusal));
        }
        let Some(link) = self.link() else { return Err(ApiError::Error(format!("'{}' cannot request jobs", self.owner))) };
        let group = JobGroup(Rc::new(GroupInner {
            members: (worker_names.len() > SMALL).then(|| worker_names.iter().cloned().collect()),
            worker_names,
            label: params.label,
            cancellable: params.cancellable,
            cancel_on_error: params.cancel_on_error,
            state: RefCell::new(GroupState {
                job_id: None,
                request: Some((params.name, params.payload)),
                responses: Vec::new(),
                answered: HashMap::default(),
                members_answered: 0,
                terminated: NameSet::default(),
                last_status: None,
                events: with_events.then(VecDeque::new),
                outcome: None,
                deadline: None,
                on_change: Vec::new(),
                next_listener: 0,
            }),
            settled: Flag::new(),
        }));
        if fail_if_stopped(&group, &link.registry) {
            return Ok(group);
        }
        if let Some(ms) = params.timeout {
            self.arm_deadline(&link.env, &group, ms);
        }
        self.waiting.borrow_mut().push(group.clone());
        let (this, g, registry, env) = (self.clone(), group.clone(), link.registry.clone(), link.env.clone());
        let warn_after = link.not_ready_warning.get();
        link.env.spawn(Box::pin(async move {
            let ready = async {
                // All members ready at once: one may leave while another is awaited.
                while !g.is_done() && !g.worker_names().iter().all(|n| registry.has(n)) {
                    race(wait_ready(registry.clone(), g.worker_names().to_vec()), g.0.settled.wait()).await;
                    fail_if_stopped(&g, &registry);
                }
            };
            // Never completes: the race ends when the wait does, which drops the timer.
            let warning = async {
                env.sleep(warn_after, false).await;
                let missing: Vec<&String> = g.worker_names().iter().filter(|n| !registry.has(n)).collect();
                if !missing.is_empty() {
                    // The request is still there: the group waits, unsent.
                    let job_name = g.0.state.borrow().request.as_ref().and_then(|(name, _)| name.clone());
                    env.log(LogLevel::Warn, &not_ready_warning(&this.owner, job_name.as_deref(), &missing, warn_after));
                }
                futures::future::pending::<()>().await
            };
            race(ready, warning).await;
            this.forget_waiting(&g);
            this.send(&g);
        }));
        Ok(group)
    }

    /// One deadline for readiness and the job: not ready by then fails the wait, otherwise the
    /// group is cancelled with "timeout".
    fn arm_deadline(self: &Rc<Self>, env: &Env, group: &JobGroup<V>, ms: f64) {
        let (weak_self, weak_group) = (Rc::downgrade(self), Rc::downgrade(&group.0));
        let sleep = env.sleep(ms, true);
        let (task, handle) = abortable(async move {
            sleep.await;
            if let (Some(this), Some(g)) = (weak_self.upgrade(), Weak::upgrade(&weak_group)) {
                let group = JobGroup(g);
                match group.job_id() {
                    Some(id) => this.cancel_group(&id, Some(reasons::TIMEOUT.into())),
                    None => {
                        let mut failure = JobFailure::with_reason(reasons::NOT_READY);
                        failure.not_ready = true;
                        group.fail(failure);
                    }
                }
            }
        });
        group.0.state.borrow_mut().deadline = Some(handle);
        env.spawn(Box::pin(task.map(|_| ())));
    }

    fn forget_waiting(&self, group: &JobGroup<V>) {
        self.waiting.borrow_mut().retain(|g| !Rc::ptr_eq(&g.0, &group.0));
    }

    fn send(&self, group: &JobGroup<V>) {
        let Some(link) = self.link() else { return };
        let job_id = new_uuid(&*link.env);
        let (mut name, mut payload) = {
            let mut s = group.0.state.borrow_mut();
            let Some(request) = s.request.take() else { return };
            s.job_id = Some(job_id.clone());
            request
        };
        self.groups.borrow_mut().insert(job_id.clone(), group.clone());
        let last = group.worker_names().len() - 1;
        for (i, worker) in group.worker_names().iter().enumerate() {
            // The last request takes the name and payload instead of copying them.
            let (job_name, payload) = if i == last { (name.take(), payload.take()) } else { (name.clone(), payload.clone()) };
            let body = Body::JobRequest { job_id: job_id.clone(), job_name, payload };
            if let Err(refusal) = link.bus.try_send(Message::new(&self.owner, Some(worker.clone()), body)) {
                // A request that cannot leave would never be answered: the group fails now, and
                // the members it already reached are cancelled.
                let mut failure = JobFailure::with_reason(format!("could not send the job to worker '{worker}': {}", refusal.message));
                failure.worker_name = Some(worker.clone());
                failure.cause = refusal.cause;
                self.groups.borrow_mut().remove(&job_id);
                for reached in &group.worker_names()[..i] {
                    let body = Body::JobCancel { job_id: job_id.clone(), reason: Some(failure.reason.clone()) };
                    link.bus.send(Message::new(&self.owner, Some(reached.clone()), body));
                }
                group.fail(failure);
                return;
            }
        }
        let (workers, label, cancellable) = (group.worker_names().to_vec(), group.label().map(str::to_string), group.cancellable());
        self.tell_ui(|at| Body::UiJobGroupStarted { job_id, workers: Some(workers), label, cancellable, at });
        group.notify();
    }

    /// Pipecat's `cancel_job_group`: removes the group, tells every worker in it, and fails it
    /// with the reason (or "cancelled").
    pub fn cancel_group(&self, job_id: &str, reason: Option<String>) {
        self.cancel_group_with(job_id, reason.clone(), JobFailure::with_reason(reason.unwrap_or_else(|| reasons::CANCELLED.into())));
    }

    fn cancel_group_with(&self, job_id: &str, reason: Option<String>, failure: JobFailure<V>) {
        let Some(group) = self.groups.borrow_mut().remove(job_id) else { return };
        if let Some(link) = self.link() {
            for worker in group.worker_names() {
                let body = Body::JobCancel { job_id: job_id.to_string(), reason: reason.clone() };
                link.bus.send(Message::new(&self.owner, Some(worker.clone()), body));
            }
        }
        group.fail(failure);
        // The UI's card closes now: the workers cut short are reported cancelled (their own
        // answers come after the group is gone), then the group; completion never follows.
        if self.ui.get() {
            let cut_short: Vec<String> = {
                let s = group.0.state.borrow();
                group.worker_names().iter().filter(|w| !s.terminated.contains(*w)).cloned().collect()
            };
            for worker in cut_short {
                self.tell_ui_completed(job_id, &worker, JobStatus::Cancelled, None);
            }
            self.tell_ui_group_completed(job_id);
        }
    }

    /// The requester's own cancel, before or after the send.
    pub fn cancel(&self, group: &JobGroup<V>, reason: Option<String>) {
        self.cancel_because(group, reason, None);
    }

    /// The requester's own cancel with its `cause` (an abort signal's reason, say).
    pub fn cancel_because(&self, group: &JobGroup<V>, reason: Option<String>, cause: Option<V>) {
        let mut failure = JobFailure::with_reason(reason.clone().unwrap_or_else(|| reasons::CANCELLED.into()));
        failure.cause = present(cause);
        match group.job_id() {
            Some(id) => self.cancel_group_with(&id, reason, failure),
            None => {
                self.forget_waiting(group);
                group.fail(failure);
            }
        }
    }

    /// An external cancel request: refused for unknown and non-cancellable groups.
    pub fn request_cancel(&self, job_id: &str, reason: Option<String>) -> bool {
        match self.group(job_id) {
            Some(g) if g.cancellable() => {
                self.cancel_group(job_id, reason);
                true
            }
            _ => false,
        }
    }

    /// Fails everything still open (the owner is stopping).
    fn cancel_all(&self, reason: &str) {
        let ids: Vec<String> = self.groups.borrow().keys().cloned().collect();
        for id in ids {
            self.cancel_group(&id, Some(reason.to_string()));
        }
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        for g in waiting {
            g.fail(JobFailure::with_reason(reason));
        }
    }

    /// Workers that are gone (their runner left or stopped answering) answer for them: every
    /// open group still waiting on one of them gets a `cancelled` answer with
    /// "worker '<w>' stopped", as if the worker had stopped. Returns the events to emit.
    pub fn workers_gone(&self, names: &HashSet<String>) -> Vec<AnswerEvent<V>> {
        let mut events = Vec::new();
        // A name that is ready again (a new worker took it) is not gone.
        let registry = self.link().map(|l| l.registry);
        let names: HashSet<&String> = names.iter().filter(|n| !registry.as_ref().is_some_and(|r| r.has(n))).collect();
        let open: Vec<(String, JobGroup<V>)> = self.groups.borrow().iter().map(|(i, g)| (i.clone(), g.clone())).collect();
        for (job_id, group) in open {
            for worker in group.worker_names().to_vec() {
                let waiting = !group.0.state.borrow().terminated.contains(&worker);
                if group.is_done() || !waiting || !names.contains(&worker) {
                    continue;
                }
                let reason = reasons::stopped(&worker);
                let body = Body::JobResponse { job_id: job_id.clone(), status: JobStatus::Cancelled, response: Some(V::reason_object(&reason)), urgent: false };
                let answer = Rc::new(Message::new(worker, Some(self.owner.clone()), body));
                events.extend(self.on_message(&answer, &|_| true).unwrap_or_default());
            }
        }
        events
    }

    /// Handles a message addressed to this requester; returns the events to emit, in order.
    /// Returns `None` for messages that are not job answers. Only events that `wants` (by
    /// kind) are made: a job completed event copies the responses.
    pub fn on_message(&self, message: &Rc<Message<V>>, wants: &dyn Fn(AnswerKind) -> bool) -> Option<Vec<AnswerEvent<V>>> {
        let source = message.source.as_str();
        let mut events = Events { list: Vec::new(), wants };
        match &message.body {
            Body::JobResponse { job_id, status, response, .. } => {
                let group = self.group(job_id);
                if let Some(g) = &group {
                    let mut s = g.0.state.borrow_mut();
                    s.terminated.insert(source);
                    s.last_status = Some(*status);
                }
                events.push(AnswerEvent::Response(message.clone()));
                // Before an error-triggered cancel, so the UI learns which worker failed.
                if group.is_some() {
                    self.tell_ui_completed(job_id, source, *status, response.clone());
                }
                match group {
                    Some(g) if g.cancel_on_error() && status.is_failure() => {
                        g.record(source, response.clone());
                        events.push(AnswerEvent::Error(message.clone()));
                        let failure = JobFailure {
                            reason: reasons::errored(source),
                            not_ready: false,
                            worker_name: Some(source.to_string()),
                            status: Some(*status),
                            response: present(response.clone()),
                            responses: Vec::new(),
                            cause: answer_cause(message, *status, response),
                        };
                        let reason = failure.reason.clone();
                        self.cancel_group_with(job_id, Some(reason), failure);
                    }
                    Some(g) if g.cancel_on_error() && *status == JobStatus::Cancelled => {
                        let reason = response.as_ref().and_then(|r| r.string_field("reason")).unwrap_or_else(|| reasons::CANCELLED.into());
                        let failure = JobFailure {
                            reason: reason.clone(),
                            not_ready: false,
                            worker_name: Some(source.to_string()),
                            status: Some(*status),
                            response: present(response.clone()),
                            responses: Vec::new(),
                            cause: None,
                        };
                        self.cancel_group_with(job_id, Some(reason), failure);
                    }
                    Some(g) => {
                        g.record(source, response.clone());
                        self.complete_if_answered(&g, job_id, &mut events);
                    }
                    None => {}
                }
            }
            Body::JobUpdate { job_id, update, .. } => {
                events.push(AnswerEvent::Update(message.clone()));
                self.push_event(job_id, JobEventKind::Update, source, update);
                if self.group(job_id).is_some() {
                    let (job_id, worker_name, data) = (job_id.clone(), source.to_string(), update.clone());
                    self.tell_ui(|at| Body::UiJobUpdate { job_id, worker_name, data, at });
                }
            }
            Body::JobStreamStart { job_id, data } => {
                events.push(AnswerEvent::StreamStart(message.clone()));
                self.push_event(job_id, JobEventKind::StreamStart, source, data);
            }
            Body::JobStreamData { job_id, data } => {
                events.push(AnswerEvent::StreamData(message.clone()));
                self.push_event(job_id, JobEventKind::StreamData, source, data);
            }
            Body::JobStreamEnd { job_id, data } => {
                let group = self.group(job_id);
                events.push(AnswerEvent::StreamEnd(message.clone()));
                if let Some(g) = group {
                    g.0.state.borrow_mut().terminated.insert(source);
                    g.0.state.borrow_mut().last_status = Some(JobStatus::Completed);
                    g.push_event(JobEventKind::StreamEnd, source, data.clone());
                    self.tell_ui_completed(job_id, source, JobStatus::Completed, data.clone());
                    g.record(source, data.clone());
                    self.complete_if_answered(&g, job_id, &mut events);
                }
            }
            _ => return None,
        }
        Some(events.list)
    }

    fn push_event(&self, job_id: &str, kind: JobEventKind, source: &str, data: &Option<V>) {
        if let Some(g) = self.group(job_id) {
            g.push_event(kind, source, data.clone());
        }
    }

    fn complete_if_answered(&self, group: &JobGroup<V>, job_id: &str, events: &mut Events<'_, V>) {
        if group.all_answered() {
            self.groups.borrow_mut().remove(job_id);
            if (events.wants)(AnswerKind::Completed) {
                events.list.push(AnswerEvent::Completed { job_id: job_id.to_string(), responses: group.responses() });
            }
            self.tell_ui_group_completed(job_id);
            group.settle(Outcome::Completed);
        }
    }
}


/// What a requester reports of the answers it handled (its owner turns them into its own events).
pub enum AnswerEvent<V: Value> {
    Response(Rc<Message<V>>),
    /// A failed answer that cancels its group (`cancelOnError`).
    Error(Rc<Message<V>>),
    Update(Rc<Message<V>>),
    StreamStart(Rc<Message<V>>),
    StreamData(Rc<Message<V>>),
    StreamEnd(Rc<Message<V>>),
    /// Every worker of the group answered: the responses by worker.
    Completed { job_id: String, responses: Vec<(String, V)> },
}

/// The kind of an [`AnswerEvent`], asked about before the event is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    Response,
    Error,
    Update,
    StreamStart,
    StreamData,
    StreamEnd,
    Completed,
}

impl<V: Value> AnswerEvent<V> {
    pub fn kind(&self) -> AnswerKind {
        match self {
            AnswerEvent::Response(_) => AnswerKind::Response,
            AnswerEvent::Error(_) => AnswerKind::Error,
            AnswerEvent::Update(_) => AnswerKind::Update,
            AnswerEvent::StreamStart(_) => AnswerKind::StreamStart,
            AnswerEvent::StreamData(_) => AnswerKind::StreamData,
            AnswerEvent::StreamEnd(_) => AnswerKind::StreamEnd,
            AnswerEvent::Completed { .. } => AnswerKind::Completed,
        }
    }
}

/// Events to emit, keeping only those somebody wants.
struct Events<'a, V: Value> {
    list: Vec<AnswerEvent<V>>,
    wants: &'a dyn Fn(AnswerKind) -> bool,
}

impl<V: Value> Events<'_, V> {
    fn push(&mut self, event: AnswerEvent<V>) {
        if (self.wants)(event.kind()) {
            self.list.push(event);
        }
    }
}

/// A group with a member that stopped (and has not come back) fails at once.
fn fail_if_stopped<V: Value>(group: &JobGroup<V>, registry: &Registry) -> bool {
    match group.worker_names().iter().find(|n| registry.is_stopped(n)) {
        Some(stopped) => {
            let mut failure = JobFailure::with_reason(reasons::stopped(stopped));
            failure.worker_name = Some(stopped.clone());
            group.fail(failure);
            true
        }
        None => false,
    }
}

/// The warning of a job still waiting for workers that are not ready.
fn not_ready_warning(owner: &str, job_name: Option<&str>, missing: &[&String], waited_ms: f64) -> String {
    let one = missing.len() == 1;
    let mut text = match job_name {
        Some(name) => format!("job '{name}'"),
        None => "a job".to_string(),
    };
    // Whole milliseconds: printing an f64 would add float formatting to the wasm.
    text += &format!(" from '{owner}' has waited {} ms for {}", waited_ms as u32, if one { "worker" } else { "workers" });
    for (i, name) in missing.iter().enumerate() {
        text += if i == 0 { " '" } else { ", '" };
        text += name;
        text += "'";
    }
    text += if one { " that is not ready; it waits until it is" } else { " that are not ready; it waits until they are" };
    text += " ready or its timeout, if any, passes";
    text
}

/// The value rules of a group request: a non-empty list of distinct names, a usable timeout.
pub fn check_group<V: Value>(worker_names: &[String], params: &JobParams<V>) -> Result<(), ApiError> {
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

/// Resolves once every name is registered; removes its watches when done or dropped.
async fn wait_ready(registry: Registry, names: Vec<String>) {
    let missing: Rc<RefCell<HashSet<String>>> = Rc::new(RefCell::new(names.iter().filter(|n| !registry.has(n)).cloned().collect()));
    let all_ready = Flag::new();
    struct Unwatch(Registry, Vec<(String, super::registry::WatchId)>);
    impl Drop for Unwatch {
        fn drop(&mut self) {
            for (name, id) in &self.1 {
                self.0.unwatch(name, *id);
            }
        }
    }
    let mut guard = Unwatch(registry.clone(), Vec::new());
    let pending: Vec<String> = missing.borrow().iter().cloned().collect();
    for name in pending {
        let (missing, all_ready) = (missing.clone(), all_ready.clone());
        let handler: super::registry::WatchFn = Rc::new(move |data| {
            let mut m = missing.borrow_mut();
            m.remove(&data.worker_name);
            if m.is_empty() {
                all_ready.set();
            }
            Box::pin(async {})
        });
        let id = registry.watch(&name, None, handler).await;
        guard.1.push((name, id));
    }
    if missing.borrow().is_empty() {
        return;
    }
    all_ready.wait().await;
}
