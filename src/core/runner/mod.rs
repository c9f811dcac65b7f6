//! The runner: hosts workers on a bus, starts them, ends or cancels them, finishes when its
//! roots have, and exchanges registry snapshots with the other runners on the bus.

use super::bus::{Bus, Handling, Subscriber};
use super::hash::HashSet;
use super::job::{JobGroup, JobParams, Requester, WarningDelay, NOT_READY_WARNING_MS};
use super::message::{Body, Message, SharedStr};
use super::reasons;
use super::platform::Env;
use super::registry::{Registry, RegistryEntry};
use super::sync::{race, Flag};
use super::worker::{Phase, Worker, WorkerHost};
use super::{ApiError, Value};
use futures::future::{FutureExt, LocalBoxFuture};
use std::cell::RefCell;
use std::rc::Rc;

mod remote;

pub use remote::Liveness;

/// How long `end()` lets running handlers settle before aborting them, by default.
pub const DEFAULT_GRACE_MS: f64 = 5000.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunnerPhase {
    Idle,
    Running,
    Ending,
    Finished,
}

pub enum RunnerEvent {
    Ready,
    Error(String),
}

pub type RunnerSink = Rc<dyn Fn(RunnerEvent)>;

struct RunnerState<V: Value> {
    phase: RunnerPhase,
    auto_end: bool,
    entries: Vec<Worker<V>>,
    /// Remote runners whose snapshot was answered.
    known_runners: HashSet<String>,
    /// Remote runners that send heartbeats, with when they were last heard from.
    heard_from: Vec<(String, f64)>,
    /// Unknown runners we introduced ourselves to, and when.
    greeted: Vec<(String, f64)>,
    /// Runners whose snapshot we last answered, and when.
    answered: Vec<(String, f64)>,
    /// Runners the host said are gone (their realm ended, their socket closed): a snapshot of
    /// theirs still queued from before is stale, and must not bring their workers back.
    ended: HashSet<String>,
    liveness: Liveness,
    /// Finishing waits for the runner's own queued answers to be handled first.
    teardown_pending: bool,
    sink: Option<RunnerSink>,
}

pub struct RunnerInner<V: Value> {
    name: String,
    env: Env,
    bus: Bus<V>,
    registry: Registry,
    requester: Rc<Requester<V>>,
    /// After how long a job of this runner or its workers names the workers it still waits for.
    not_ready_warning: WarningDelay,
    state: RefCell<RunnerState<V>>,
    finished: Flag,
}

/// A runner handle; clones share the same runner.
pub struct Runner<V: Value>(Rc<RunnerInner<V>>);

impl<V: Value> Clone for Runner<V> {
    fn clone(&self) -> Self {
        Runner(self.0.clone())
    }
}

impl<V: Value> Runner<V> {
    pub fn new(env: Env, name: String, bus: Bus<V>) -> Result<Self, ApiError> {
        let registry = Registry::new(env.clone(), &name);
        let not_ready_warning: WarningDelay = Rc::new(std::cell::Cell::new(NOT_READY_WARNING_MS));
        let requester = Requester::new(&name, env.clone(), bus.clone(), registry.clone(), not_ready_warning.clone());
        let inner = Rc::new(RunnerInner {
            name: name.clone(),
            env,
            bus: bus.clone(),
            registry,
            requester,
            not_ready_warning,
            state: RefCell::new(RunnerState {
                phase: RunnerPhase::Idle,
                auto_end: true,
                entries: Vec::new(),
                known_runners: HashSet::default(),
                heard_from: Vec::new(),
                greeted: Vec::new(),
                answered: Vec::new(),
                ended: HashSet::default(),
                liveness: Liveness::default(),
                teardown_pending: false,
                sink: None,
            }),
            finished: Flag::new(),
        });
        // Subscribed from the start, so nothing sent to the runner before `start` is lost.
        let subscriber: Rc<dyn Subscriber<V>> = inner.clone();
        bus.subscribe(&name, subscriber).map_err(ApiError::Error)?;
        bus.add_runner(&name);
        Ok(Runner(inner))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }
    pub fn bus(&self) -> &Bus<V> {
        &self.0.bus
    }
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }
    pub fn requester(&self) -> &Rc<Requester<V>> {
        &self.0.requester
    }
    pub fn phase(&self) -> RunnerPhase {
        self.0.state.borrow().phase
    }
    pub fn is_finished(&self) -> bool {
        self.0.finished.is_set()
    }
    pub fn finished(&self) -> impl std::future::Future<Output = ()> {
        self.0.finished.wait()
    }
    pub fn set_liveness(&self, liveness: Liveness) {
        self.0.state.borrow_mut().liveness = liveness;
    }
    /// After how many ms a job still waiting for workers that are not ready logs a warning
    /// naming them (once per job; default [`NOT_READY_WARNING_MS`]). Applies to jobs started
    /// from then on, by the runner and by its workers.
    pub fn set_not_ready_warning(&self, ms: f64) {
        self.0.not_ready_warning.set(ms);
    }

    /// Sends this runner's snapshot (to a newly linked realm, say); the others answer with theirs.
    pub fn announce(&self) {
        self.0.announce(self.0.entries(false));
    }

    /// A remote runner is known to be gone (its realm was terminated): forget it now.
    /// The host knows `runner` is gone (its realm ended, its socket closed; the link it was
    /// behind is already removed): its workers leave, and jobs to them end at once.
    pub fn remote_runner_gone(&self, runner: &str) {
        self.0.state.borrow_mut().ended.insert(runner.to_string());
        self.0.runner_gone(runner, true);
    }

    pub fn set_event_sink(&self, sink: Option<RunnerSink>) {
        self.0.state.borrow_mut().sink = sink;
    }
    pub fn workers(&self) -> Vec<Worker<V>> {
        self.0.state.borrow().entries.clone()
    }
    pub fn get_worker(&self, name: &str) -> Option<Worker<V>> {
        self.0.state.borrow().entries.iter().find(|w| w.name() == name).cloned()
    }
    /// This runner's ready workers, as a registry snapshot lists them.
    pub fn entries(&self) -> Vec<RegistryEntry> {
        self.0.entries(true)
    }

    /// Hosts workers (and the children they already have). Rejects the whole call on a
    /// duplicate name or a worker hosted elsewhere.
    pub async fn add_workers(&self, workers: Vec<Worker<V>>) -> Result<(), ApiError> {
        self.0.check_new_workers(&workers)?;
        self.0.host(workers).await
    }

    /// Starts every added worker; resolves once they have started.
    pub async fn start(&self, auto_end: bool) -> Result<(), ApiError> {
        let entries = {
            let mut s = self.0.state.borrow_mut();
            match s.phase {
                RunnerPhase::Idle => {}
                RunnerPhase::Finished => return Err(ApiError::Error(format!("runner '{}' has finished", self.0.name))),
                _ => return Ok(()),
            }
            s.phase = RunnerPhase::Running;
            s.auto_end = auto_end;
            s.entries.clone()
        };
        for w in entries {
            w.start().await;
        }
        if self.0.state.borrow().entries.is_empty() {
            // No worker announced us: say hello so that the other runners send their snapshots.
            self.0.announce(Vec::new());
        }
        self.0.env.spawn(Box::pin(self.0.clone().heartbeats()));
        self.0.emit(RunnerEvent::Ready);
        Ok(())
    }

    /// Ends this runner gracefully: roots stop their children first, running handlers get
    /// one grace period in all, then whatever is left is cancelled. Resolves when finished.
    pub async fn end(&self, reason: Option<String>, grace_ms: f64) {
        match self.phase() {
            RunnerPhase::Idle => self.0.cancel_all(reason),
            RunnerPhase::Running => {
                self.0.state.borrow_mut().phase = RunnerPhase::Ending;
                for root in self.0.roots() {
                    self.0.bus.send(Message::new(&self.0.name, Some(root.name().into()), Body::EndWorker { reason: reason.clone() }));
                }
                let inner = self.0.clone();
                let grace = self.0.env.sleep(grace_ms, true);
                self.0.env.spawn(Box::pin(async move {
                    if !race(inner.finished.wait(), grace).await {
                        inner.cancel_all(Some(reasons::RUNNER_EXITING.to_string()));
                    }
                }));
                self.0.maybe_finish();
            }
            RunnerPhase::Ending | RunnerPhase::Finished => {}
        }
        self.finished().await
    }

    /// Cancels this runner: every worker stops at once. Resolves when finished.
    pub async fn cancel(&self, reason: Option<String>) {
        if self.phase() != RunnerPhase::Finished {
            self.0.cancel_all(reason);
        }
        self.finished().await
    }

    /// Starts a job group from the runner's own identity.
    pub fn start_group(&self, workers: Vec<SharedStr>, params: JobParams<V>, with_events: bool) -> Result<JobGroup<V>, ApiError> {
        self.0.requester.start(workers, params, with_events)
    }
}

impl<V: Value> RunnerInner<V> {
    fn emit(&self, event: RunnerEvent) {
        let sink = self.state.borrow().sink.clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }

    fn roots(&self) -> Vec<Worker<V>> {
        self.state.borrow().entries.iter().filter(|w| w.parent().is_none()).cloned().collect()
    }

    fn entries(&self, ready_only: bool) -> Vec<RegistryEntry> {
        self.state
            .borrow()
            .entries
            .iter()
            .filter(|w| if ready_only { matches!(w.phase(), Phase::Running | Phase::Stopping) } else { w.phase() != Phase::Stopped })
            .map(|w| RegistryEntry { name: w.name().to_string(), parent: w.parent(), active: w.is_active(), bridged: false, started_at: w.started_at() })
            .collect()
    }

    /// The workers and their not-yet-hosted descendants, checked for duplicates.
    fn check_new_workers(&self, workers: &[Worker<V>]) -> Result<Vec<Worker<V>>, ApiError> {
        if self.state.borrow().phase >= RunnerPhase::Ending {
            return Err(ApiError::Error(format!("runner '{}' is ending and takes no new workers", self.name)));
        }
        let mut all: Vec<Worker<V>> = Vec::new();
        let mut stack: Vec<Worker<V>> = workers.iter().rev().cloned().collect();
        while let Some(w) = stack.pop() {
            if w.is_attached() {
                let here = self.state.borrow().entries.iter().any(|e| e.same_as(&w));
                return Err(ApiError::Error(if here {
                    format!("worker '{}' is already added to runner '{}'", w.name(), self.name)
                } else {
                    format!("worker '{}' is hosted by another runner", w.name())
                }));
            }
            let taken = self.state.borrow().entries.iter().any(|e| e.name() == w.name())
                || all.iter().any(|e| e.name() == w.name())
                || self.bus.is_subscribed(w.name());
            if taken {
                return Err(ApiError::Error(format!("a worker named '{}' is already on the bus", w.name())));
            }
            stack.extend(w.children().into_iter().rev());
            all.push(w);
        }
        Ok(all)
    }

    /// Why a worker hosted by another runner cannot be added here (what
    /// [`RunnerInner::check_new_workers`] says of it).
    fn refuse_foreign_worker(&self, name: &str) -> ApiError {
        if self.state.borrow().phase >= RunnerPhase::Ending {
            return ApiError::Error(format!("runner '{}' is ending and takes no new workers", self.name));
        }
        ApiError::Error(format!("worker '{name}' is hosted by another runner"))
    }

    /// Attaches checked workers (with their descendants) and starts them if running.
    async fn host(self: &Rc<Self>, workers: Vec<Worker<V>>) -> Result<(), ApiError> {
        let all = self.check_new_workers(&workers)?;
        for w in &all {
            let host: Rc<dyn WorkerHost<V>> = self.clone();
            w.attach(Rc::downgrade(&host), &self.name, self.not_ready_warning.clone(), self.env.clone(), self.bus.clone(), self.registry.clone())?;
            self.state.borrow_mut().entries.push(w.clone());
        }
        if self.state.borrow().phase == RunnerPhase::Running {
            for w in &all {
                w.start().await;
            }
        }
        Ok(())
    }

    /// A local root registered: tell the other runners (children are listed, not announced).
    fn worker_registered(&self, worker: &Worker<V>) {
        if worker.parent().is_none() {
            self.send_registry();
        }
    }

    fn send_registry(&self) {
        let workers = self.entries(false);
        if !workers.is_empty() {
            self.announce(workers);
        }
    }

    fn announce(&self, workers: Vec<RegistryEntry>) {
        self.bus.send(Message::new(&self.name, None, Body::WorkerRegistry { runner: self.name.clone(), workers }));
    }

    fn worker_finished(&self, worker: &Worker<V>) {
        if matches!(self.state.borrow().phase, RunnerPhase::Running | RunnerPhase::Ending) {
            // Snapshots are complete lists: this one no longer has the stopped worker.
            self.announce(self.entries(false));
        }
        let all_roots_done = {
            let s = self.state.borrow();
            s.phase == RunnerPhase::Running
                && s.auto_end
                && worker.parent().is_none()
                && s.entries.iter().filter(|w| w.parent().is_none()).all(Worker::is_finished)
        };
        if all_roots_done {
            self.cancel_all(Some(reasons::RUNNER_EXITING.to_string()));
        }
        self.maybe_finish();
    }

    fn cancel_all(&self, reason: Option<String>) {
        {
            let mut s = self.state.borrow_mut();
            if s.phase == RunnerPhase::Finished {
                return;
            }
            s.phase = RunnerPhase::Ending;
        }
        // Pipecat's message to each root, for observers and peers; the workers here are
        // cancelled directly, so nothing waits on its delivery.
        for root in self.roots() {
            self.bus.send(Message::new(&self.name, Some(root.name().into()), Body::CancelWorker { reason: reason.clone() }));
        }
        let remaining: Vec<Worker<V>> = self.state.borrow().entries.iter().filter(|w| !w.is_finished()).cloned().collect();
        for w in remaining.iter().filter(|w| w.parent().is_none()) {
            w.cancel(reason.clone());
        }
        for w in remaining {
            w.cancel(reason.clone());
        }
        self.maybe_finish();
    }

    /// Once every worker has finished, finish after handling the answers already queued for
    /// the runner's own jobs (a marker through its data lane), so they settle as answered.
    fn maybe_finish(&self) {
        let ready = {
            let mut s = self.state.borrow_mut();
            let ready = s.phase == RunnerPhase::Ending && !s.teardown_pending && s.entries.iter().all(Worker::is_finished);
            if ready {
                s.teardown_pending = true;
            }
            ready
        };
        if ready {
            self.bus.send(Message::new(&self.name, Some(self.name.as_str().into()), Body::Data));
        }
    }

    fn teardown(&self) {
        // Goodbye: an empty snapshot tells the other runners that our workers are gone.
        self.announce(Vec::new());
        self.requester.close(reasons::RUNNER_EXITING, format!("runner '{}' has finished", self.name));
        self.state.borrow_mut().phase = RunnerPhase::Finished;
        self.bus.unsubscribe(&self.name);
        self.bus.remove_runner(&self.name);
        self.finished.set();
    }
}

impl<V: Value> WorkerHost<V> for RunnerInner<V> {
    fn check_new_workers(&self, workers: &[Worker<V>]) -> Result<Vec<Worker<V>>, ApiError> {
        RunnerInner::check_new_workers(self, workers)
    }
    fn host_workers(self: Rc<Self>, workers: Vec<Worker<V>>) -> LocalBoxFuture<'static, Result<(), ApiError>> {
        Box::pin(async move { self.host(workers).await })
    }
    fn worker_registered(&self, worker: &Worker<V>) {
        RunnerInner::worker_registered(self, worker)
    }
    fn worker_finished(&self, worker: &Worker<V>) {
        RunnerInner::worker_finished(self, worker)
    }
}

impl<V: Value> Subscriber<V> for RunnerInner<V> {
    fn on_message(self: Rc<Self>, message: &Rc<Message<V>>) -> Handling {
        if message.target.as_deref().is_some_and(|t| t != self.name) {
            return Ok(None);
        }
        if message.source == self.name {
            if matches!(message.body, Body::Data) && self.state.borrow().teardown_pending {
                self.teardown();
            }
            return Ok(None);
        }
        match &message.body {
            Body::System => {
                // A heartbeat: its sender's silence counts from now on, even if its snapshot only
                // comes after this one (a runner that never sends any, as Pipecat's, never expires).
                self.heard(&message.source);
                if !self.state.borrow().known_runners.contains(message.source.as_str()) {
                    self.greet(&message.source);
                }
            }
            Body::End { reason } => {
                let (runner, reason) = (Runner(self.clone()), reason.clone());
                self.env.spawn(Box::pin(async move { runner.end(reason, DEFAULT_GRACE_MS).await }));
            }
            Body::Cancel { reason } => self.cancel_all(reason.clone()),
            // A parent's own addWorkers has hosted its child already.
            Body::AddWorker { worker } if self.state.borrow().entries.iter().any(|e| e.name() == worker) => {}
            // Sent only once a runner hosts the worker: this is another runner's worker.
            Body::AddWorker { worker } => {
                let e = self.refuse_foreign_worker(worker);
                self.emit(RunnerEvent::Error(e.to_string()));
                return Err(e.to_string());
            }
            Body::WorkerRegistry { runner, workers } => {
                if self.state.borrow().heard_from.iter().any(|(r, _)| r == runner) {
                    self.heard(runner);
                }
                if *runner != self.name {
                    return Ok(Some(Box::pin(self.clone().handle_registry(runner.clone(), workers.clone()).map(Ok))));
                }
            }
            _ => {
                self.requester.on_message(message, &|_| false);
            }
        }
        Ok(None)
    }
}
