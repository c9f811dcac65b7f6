//! The requester: starts groups, sends their requests once their workers are ready, bounds
//! them by a deadline, cancels them, and tells a client UI about them.

use super::{check_group, JobFailure, JobParams};
use super::group::{GroupInner, GroupState, JobGroup, NameSet, Placed, SMALL};
use crate::core::bus::Bus;
use crate::core::hash::{HashMap, HashSet};
use crate::core::message::{Body, JobStatus, Message, SharedStr};
use crate::core::platform::{Env, IdSource, LogLevel};
use crate::core::reasons;
use crate::core::registry::{Place, Registry};
use crate::core::sync::{race, Flag};
use crate::core::{present, ApiError, Value};
use futures::future::{abortable, FutureExt};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};


/// How long a job may wait for workers that are not ready before a warning names them, by
/// default: long enough for workers that are merely starting (a Web Worker loading its wasm, a
/// remote runner announcing itself), short enough that a misspelt name is not a silent hang.
pub const NOT_READY_WARNING_MS: f64 = 5000.0;

/// The runner's setting of that delay, shared with its workers' requesters.
pub type WarningDelay = Rc<Cell<f64>>;

/// Where a requester sends from.
pub(super) struct Link<V: Value> {
    env: Env,
    bus: Bus<V>,
    pub(super) registry: Registry,
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
    pub(super) owner: SharedStr,
    pub(super) link: RefCell<Option<Link<V>>>,
    /// Why new groups are refused (not attached yet, or stopped); `None` while open.
    refusal: RefCell<Option<String>>,
    /// Sent groups by job id.
    pub(super) groups: RefCell<HashMap<SharedStr, JobGroup<V>>>,
    /// Groups still waiting for their workers, in creation order.
    waiting: RefCell<Vec<JobGroup<V>>>,
    /// Pipecat's `BaseUIWorker`: every group's lifecycle is broadcast as UI messages.
    ui: std::cell::Cell<bool>,
    /// Where this requester's job ids come from.
    ids: IdSource,
}

impl<V: Value> Requester<V> {
    /// A requester that refuses every group with `refusal` until it is attached.
    pub fn detached(owner: &str, refusal: String) -> Rc<Self> {
        Rc::new(Requester {
            owner: owner.into(),
            link: RefCell::new(None),
            refusal: RefCell::new(Some(refusal)),
            groups: RefCell::new(HashMap::default()),
            waiting: RefCell::new(Vec::new()),
            ui: std::cell::Cell::new(false),
            ids: IdSource::default(),
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

    pub(super) fn link(&self) -> Option<Link<V>> {
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
            return Err(format!("'{}' ignored a {} event without a job_id string in its payload", self.owner, crate::core::message::UI_CANCEL_JOB_GROUP_EVENT));
        };
        let reason = payload.as_ref().and_then(|p| p.string_field("reason")).unwrap_or_else(|| "cancelled by user".into());
        self.request_cancel(&job_id, Some(reason));
        Ok(())
    }

    /// Broadcasts a UI lifecycle message (a UI requester only); `at` is now, in epoch ms.
    pub(super) fn tell_ui(&self, body: impl FnOnce(f64) -> Body<V>) {
        if !self.ui.get() {
            return;
        }
        if let Some(link) = self.link() {
            let at = link.env.now().floor();
            link.bus.send(Message::new(&self.owner, None, body(at)));
        }
    }

    pub(super) fn tell_ui_completed(&self, job_id: &SharedStr, worker: &str, status: JobStatus, response: Option<V>) {
        // Every answer passes here: copy nothing for a requester that is not a UI.
        if !self.ui.get() {
            return;
        }
        let (job_id, worker_name, status) = (job_id.clone(), worker.to_string(), status.as_str().to_string());
        self.tell_ui(|at| Body::UiJobCompleted { job_id, worker_name, status, response, at });
    }

    pub(super) fn tell_ui_group_completed(&self, job_id: &SharedStr) {
        if !self.ui.get() {
            return;
        }
        let job_id = job_id.clone();
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
        worker_names: Vec<SharedStr>,
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
            retries: params.retries,
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
                placed: Vec::new(),
                retry_request: None,
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
                let missing: Vec<&SharedStr> = g.worker_names().iter().filter(|n| !registry.has(n)).collect();
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

    pub(super) fn send(&self, group: &JobGroup<V>) {
        let Some(link) = self.link() else { return };
        let job_id = self.ids.next(&*link.env);
        let (mut name, mut payload) = {
            let mut s = group.0.state.borrow_mut();
            let Some(request) = s.request.take() else { return };
            s.job_id = Some(job_id.clone());
            if group.0.retries > 0 {
                s.retry_request = Some(request.clone());
            }
            request
        };
        self.groups.borrow_mut().insert(job_id.clone(), group.clone());
        let last = group.worker_names().len() - 1;
        for (i, worker) in group.worker_names().iter().enumerate() {
            // The last request takes the name and payload instead of copying them.
            let (job_name, payload) = if i == last { (name.take(), payload.take()) } else { (name.clone(), payload.clone()) };
            let body = Body::JobRequest { job_id: job_id.clone(), job_name, payload, attempt: None };
            let message = self.place(&link, group, worker, Message::new(&self.owner, Some(worker.clone()), body), 1);
            if let Err(refusal) = link.bus.try_send(message) {
                // A request that cannot leave would never be answered: the group fails now, and
                // the members it already reached are cancelled.
                let mut failure = JobFailure::with_reason(format!("could not send the job to worker '{worker}': {}", refusal.message));
                failure.worker_name = Some(worker.to_string());
                failure.cause = refusal.cause;
                self.groups.borrow_mut().remove(&job_id);
                for reached in &group.worker_names()[..i] {
                    let body = Body::JobCancel { job_id: job_id.clone(), reason: Some(failure.reason.clone()) };
                    link.bus.send(self.to_member(group, reached, body));
                }
                group.fail(failure);
                return;
            }
        }
        if self.ui.get() {
            let (workers, label, cancellable) = (group.worker_names().iter().map(|w| w.to_string()).collect(), group.label().map(str::to_string), group.cancellable());
            self.tell_ui(|at| Body::UiJobGroupStarted { job_id, workers: Some(workers), label, cancellable, at });
        }
        group.notify();
    }

    /// Chooses the instance of `worker` a request goes to (see [`Registry::place`]), records
    /// it in the group, and addresses the request to it.
    fn place(&self, link: &Link<V>, group: &JobGroup<V>, worker: &SharedStr, request: Message<V>, attempt: u32) -> Message<V> {
        let (claim, runner) = match link.registry.place(worker) {
            Place::Claimed(claim) => {
                let runner = SharedStr::from(&claim.runner);
                (Some(claim), runner)
            }
            // A retry to this runner's own instance, now the only one: recorded, not counted.
            Place::Here if attempt > 1 => (None, link.registry.runner_name().into()),
            _ => return request,
        };
        let mut s = group.0.state.borrow_mut();
        let placed = Placed { worker: worker.clone(), runner: runner.clone(), attempt, claim };
        // A retry replaces the member's earlier placement (its claim drops with it).
        let earlier = match s.placed.iter_mut().find(|p| p.worker == *worker) {
            Some(p) => Some(std::mem::replace(p, placed)),
            None => {
                s.placed.push(placed);
                None
            }
        };
        drop(s);
        drop(earlier);
        request.routed(Some(link.registry.runner_name().into()), Some(runner))
    }

    /// A message about job `job_id` to member `worker`, addressed to the instance it was sent to.
    pub fn to_member_of(&self, job_id: &str, worker: &str, body: Body<V>) -> Message<V> {
        match self.group(job_id) {
            Some(group) => self.to_member(&group, &worker.into(), body),
            None => Message::new(&self.owner, Some(worker.into()), body),
        }
    }

    /// A message about a group to one of its members, addressed to the instance it was sent to.
    pub(super) fn to_member(&self, group: &JobGroup<V>, worker: &SharedStr, body: Body<V>) -> Message<V> {
        let message = Message::new(&self.owner, Some(worker.clone()), body);
        let runner = group.0.state.borrow().placed(worker).map(|p| p.runner.clone());
        match (runner, self.link()) {
            (Some(runner), Some(link)) => message.routed(Some(link.registry.runner_name().into()), Some(runner)),
            _ => message,
        }
    }

    /// Sends a member whose instance is gone to another live instance, if the group allows
    /// another try; false when it does not or no instance is ready.
    pub(super) fn retry(&self, job_id: &SharedStr, group: &JobGroup<V>, worker: &SharedStr) -> bool {
        let Some(link) = self.link() else { return false };
        let (attempt, request) = {
            let s = group.0.state.borrow();
            let attempt = s.placed(worker).map_or(1, |p| p.attempt);
            match &s.retry_request {
                Some(request) if attempt <= group.0.retries && link.registry.has(worker) => (attempt + 1, request.clone()),
                _ => return false,
            }
        };
        let body = Body::JobRequest { job_id: job_id.clone(), job_name: request.0, payload: request.1, attempt: Some(attempt) };
        let message = self.place(&link, group, worker, Message::new(&self.owner, Some(worker.clone()), body), attempt);
        link.env.log(LogLevel::Debug, &format!("job '{job_id}' to worker '{worker}' is sent again (attempt {attempt}): its instance is gone"));
        link.bus.try_send(message).is_ok()
    }

    /// Pipecat's `cancel_job_group`: removes the group, tells every worker in it, and fails it
    /// with the reason (or "cancelled").
    pub fn cancel_group(&self, job_id: &str, reason: Option<String>) {
        self.cancel_group_with(job_id, reason.clone(), JobFailure::with_reason(reason.unwrap_or_else(|| reasons::CANCELLED.into())));
    }

    pub(super) fn cancel_group_with(&self, job_id: &str, reason: Option<String>, failure: JobFailure<V>) {
        let Some((job_id, group)) = self.groups.borrow_mut().remove_entry(job_id) else { return };
        let job_id = &job_id;
        if let Some(link) = self.link() {
            for worker in group.worker_names() {
                let body = Body::JobCancel { job_id: job_id.clone(), reason: reason.clone() };
                link.bus.send(self.to_member(&group, worker, body));
            }
        }
        group.fail(failure);
        // The UI's card closes now: the workers cut short are reported cancelled (their own
        // answers come after the group is gone), then the group; completion never follows.
        if self.ui.get() {
            let cut_short: Vec<SharedStr> = {
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
        let ids: Vec<SharedStr> = self.groups.borrow().keys().cloned().collect();
        for id in ids {
            self.cancel_group(&id, Some(reason.to_string()));
        }
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        for g in waiting {
            g.fail(JobFailure::with_reason(reason));
        }
    }
}

/// A group with a member that stopped (and has not come back) fails at once.
fn fail_if_stopped<V: Value>(group: &JobGroup<V>, registry: &Registry) -> bool {
    match group.worker_names().iter().find(|n| registry.is_stopped(n)) {
        Some(stopped) => {
            let mut failure = JobFailure::with_reason(reasons::stopped(stopped));
            failure.worker_name = Some(stopped.to_string());
            group.fail(failure);
            true
        }
        None => false,
    }
}

/// The warning of a job still waiting for workers that are not ready.
fn not_ready_warning(owner: &str, job_name: Option<&str>, missing: &[&SharedStr], waited_ms: f64) -> String {
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

/// Resolves once every name is registered; removes its watches when done or dropped.
async fn wait_ready(registry: Registry, names: Vec<SharedStr>) {
    let missing: Rc<RefCell<HashSet<String>>> = Rc::new(RefCell::new(names.iter().filter(|n| !registry.has(n)).map(|n| n.to_string()).collect()));
    let all_ready = Flag::new();
    struct Unwatch(Registry, Vec<(String, crate::core::registry::WatchId)>);
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
        let handler: crate::core::registry::WatchFn = Rc::new(move |data| {
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
