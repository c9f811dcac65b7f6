//! Which workers are ready, on this runner (local) and on others (remote), and who waits for
//! them. Unlike Pipecat, names can leave (a stopped worker, a departed runner) and watches can
//! be removed, so readiness waits leave nothing behind.

use super::hash::{HashMap, HashSet};
use super::platform::{Env, LogLevel};
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::rc::Rc;

/// `WorkerReadyData`: a ready worker and the runner hosting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyData {
    pub worker_name: String,
    pub runner: String,
}

/// `WorkerRegistryEntry`: one worker of a runner's snapshot. `started_at` is in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryEntry {
    pub name: String,
    pub parent: Option<String>,
    pub active: bool,
    pub bridged: bool,
    pub started_at: Option<f64>,
}

pub type WatchFn = Rc<dyn Fn(ReadyData) -> LocalBoxFuture<'static, ()>>;

/// Identifies a watch so it can be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatchId(u64);

/// Who a keyed watch belongs to. Workers and host handlers number their keys independently,
/// so each has its own space: worker 1 and handler 1 are two watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKey {
    /// A worker reporting readiness (children, `watchWorkers`, `onWorkerReady`).
    Worker(u64),
    /// A host's handler (a JS function's identity in `registry.watch`).
    Handler(u64),
}

struct Watch {
    id: WatchId,
    /// Watches with the same key on the same name are one watch.
    key: Option<WatchKey>,
    handler: WatchFn,
}

/// Why a worker left the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoneReason {
    /// The worker stopped (its runner says so, or it is local).
    Stopped,
    /// Its runner ended (said goodbye, or its realm was terminated).
    RunnerEnded,
    /// Its runner stopped answering; the worker may come back.
    RunnerSilent,
}

impl GoneReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GoneReason::Stopped => "stopped",
            GoneReason::RunnerEnded => "runner ended",
            GoneReason::RunnerSilent => "runner silent",
        }
    }
}

/// What the registry reports to its listener: every arrival and every departure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryEvent {
    Ready(ReadyData),
    Gone(ReadyData, GoneReason),
}

pub type RegistrySink = Rc<dyn Fn(RegistryEvent)>;

/// Names in registration order with constant-time lookup.
#[derive(Default)]
struct Bucket {
    order: Vec<String>,
    data: HashMap<String, ReadyData>,
}

impl Bucket {
    fn insert(&mut self, data: ReadyData) -> bool {
        if self.data.contains_key(&data.worker_name) {
            return false;
        }
        self.order.push(data.worker_name.clone());
        self.data.insert(data.worker_name.clone(), data);
        true
    }
    fn remove(&mut self, name: &str) -> bool {
        if self.data.remove(name).is_some() {
            self.order.retain(|n| n != name);
            true
        } else {
            false
        }
    }
}

struct State {
    runner_name: String,
    local: Bucket,
    remote: Vec<(String, Bucket)>,
    watches: HashMap<String, Vec<Watch>>,
    next_watch: u64,
    /// Workers (local, or of a runner that told us or is gone) that stopped and have not come back.
    stopped: HashSet<String>,
    sink: Option<RegistrySink>,
    /// This runner's jobs pending on each instance of a pooled name: name → (runner, count).
    loads: HashMap<String, Vec<(String, u32)>>,
    /// Where the next tie-break starts, per name (ties go in turn).
    turns: HashMap<String, usize>,
}

/// Where a job to a name goes.
pub enum Place {
    /// The only instance is this runner's own: nothing to choose, route or count.
    Here,
    /// No instance is ready.
    Nowhere,
    /// The chosen instance (on another runner, or this one in a pool).
    Claimed(Claim),
}

/// One job (or group member) pending on one instance: counted in that instance's load until
/// it is dropped (the member answered, or the group ended).
pub struct Claim {
    registry: Registry,
    pub worker_name: String,
    pub runner: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut s = self.registry.state.borrow_mut();
        if let Some(loads) = s.loads.get_mut(&self.worker_name) {
            if let Some(at) = loads.iter().position(|(r, _)| *r == self.runner) {
                loads[at].1 -= 1;
                if loads[at].1 == 0 {
                    loads.swap_remove(at);
                }
            }
            if loads.is_empty() {
                s.loads.remove(&self.worker_name);
            }
        }
    }
}

#[derive(Clone)]
pub struct Registry {
    env: Env,
    state: Rc<RefCell<State>>,
}

impl Registry {
    pub fn new(env: Env, runner_name: &str) -> Self {
        Registry {
            env,
            state: Rc::new(RefCell::new(State {
                runner_name: runner_name.to_string(),
                local: Bucket::default(),
                remote: Vec::new(),
                watches: HashMap::default(),
                next_watch: 1,
                stopped: HashSet::default(),
                sink: None,
                loads: HashMap::default(),
                turns: HashMap::default(),
            })),
        }
    }

    pub fn runner_name(&self) -> String {
        self.state.borrow().runner_name.clone()
    }

    pub fn local_workers(&self) -> Vec<String> {
        self.state.borrow().local.order.clone()
    }

    pub fn remote_workers(&self) -> Vec<String> {
        self.state.borrow().remote.iter().flat_map(|(_, b)| b.order.iter().cloned()).collect()
    }

    /// Local first, then each remote runner in the order they became known.
    pub fn get(&self, name: &str) -> Option<ReadyData> {
        let s = self.state.borrow();
        s.local.data.get(name).or_else(|| s.remote.iter().find_map(|(_, b)| b.data.get(name))).cloned()
    }

    /// Every ready instance of `name`: local first, then each remote runner in the order they
    /// became known.
    pub fn instances(&self, name: &str) -> Vec<ReadyData> {
        let s = self.state.borrow();
        s.local.data.get(name).into_iter().chain(s.remote.iter().filter_map(|(_, b)| b.data.get(name))).cloned().collect()
    }

    /// This runner's jobs pending on `runner`'s instance of `name`.
    pub fn pending(&self, name: &str, runner: &str) -> u32 {
        let s = self.state.borrow();
        s.loads.get(name).and_then(|l| l.iter().find(|(r, _)| r == runner)).map_or(0, |(_, n)| *n)
    }

    /// Where a job to `name` goes: the instance with the fewest of this runner's jobs pending,
    /// ties in turn, claimed until the claim is dropped.
    pub fn place(&self, name: &str) -> Place {
        {
            // Without allocating: most jobs go to the one instance of a name, on this runner.
            let s = self.state.borrow();
            let here = s.local.data.contains_key(name);
            match (here, s.remote.iter().any(|(_, b)| b.data.contains_key(name))) {
                (true, false) => return Place::Here,
                (false, false) => return Place::Nowhere,
                _ => {}
            }
        }
        let chosen = {
            let mut s = self.state.borrow_mut();
            let local = s.local.data.contains_key(name).then(|| s.runner_name.clone());
            let runners: Vec<String> = local.into_iter().chain(s.remote.iter().filter(|(_, b)| b.data.contains_key(name)).map(|(r, _)| r.clone())).collect();
            let load = |r: &String| s.loads.get(name).and_then(|l| l.iter().find(|(x, _)| x == r)).map_or(0, |(_, n)| *n);
            let start = s.turns.get(name).copied().unwrap_or(0) % runners.len();
            let mut best = start;
            for step in 1..runners.len() {
                let i = (start + step) % runners.len();
                if load(&runners[i]) < load(&runners[best]) {
                    best = i;
                }
            }
            s.turns.insert(name.to_string(), best + 1);
            let runner = runners[best].clone();
            let loads = s.loads.entry(name.to_string()).or_default();
            match loads.iter_mut().find(|(r, _)| *r == runner) {
                Some(entry) => entry.1 += 1,
                None => loads.push((runner.clone(), 1)),
            }
            runner
        };
        Place::Claimed(Claim { registry: self.clone(), worker_name: name.to_string(), runner: chosen })
    }

    /// Where "ready" and "gone" go (one listener; the host fans out).
    pub fn set_event_sink(&self, sink: Option<RegistrySink>) {
        self.state.borrow_mut().sink = sink;
    }

    /// Calls the sink with no borrow held: it may read the registry.
    fn emit(&self, events: Vec<RegistryEvent>) {
        let sink = self.state.borrow().sink.clone();
        if let Some(sink) = sink {
            for event in events {
                sink(event);
            }
        }
    }

    pub fn has(&self, name: &str) -> bool {
        let s = self.state.borrow();
        s.local.data.contains_key(name) || s.remote.iter().any(|(_, b)| b.data.contains_key(name))
    }

    /// True when `name` was a worker that stopped and is not ready anywhere now.
    pub fn is_stopped(&self, name: &str) -> bool {
        self.state.borrow().stopped.contains(name) && !self.has(name)
    }

    /// Registers a ready worker; returns false when it was already in that runner's bucket.
    /// "ready" is reported first, then watchers of the name run one after another, in the order
    /// they were added.
    pub async fn register(&self, data: ReadyData) -> bool {
        let watchers = {
            let mut s = self.state.borrow_mut();
            let is_local = data.runner == s.runner_name;
            let elsewhere = if is_local {
                s.remote.iter().any(|(_, b)| b.data.contains_key(&data.worker_name))
            } else {
                s.local.data.contains_key(&data.worker_name)
                    || s.remote.iter().any(|(r, b)| *r != data.runner && b.data.contains_key(&data.worker_name))
            };
            s.stopped.remove(&data.worker_name);
            let added = if is_local {
                s.local.insert(data.clone())
            } else {
                let index = match s.remote.iter().position(|(r, _)| *r == data.runner) {
                    Some(i) => i,
                    None => {
                        s.remote.push((data.runner.clone(), Bucket::default()));
                        s.remote.len() - 1
                    }
                };
                s.remote[index].1.insert(data.clone())
            };
            if !added {
                return false;
            }
            if elsewhere {
                // Not Pipecat's warning: several instances of a name are a pool, by design.
                self.env.log(LogLevel::Debug, &format!("worker '{}' has another instance, on runner '{}': a pool", data.worker_name, data.runner));
            }
            s.watches.get(&data.worker_name).map(|w| w.iter().map(|w| w.handler.clone()).collect::<Vec<_>>())
        };
        self.emit(vec![RegistryEvent::Ready(data.clone())]);
        for handler in watchers.unwrap_or_default() {
            handler(data.clone()).await;
        }
        true
    }

    /// Calls `handler` whenever `name` registers, and at once if it already is. A second watch
    /// with the same `key` on the same name does nothing and returns the first one's id.
    pub async fn watch(&self, name: &str, key: Option<WatchKey>, handler: WatchFn) -> WatchId {
        let (id, existing) = {
            let mut s = self.state.borrow_mut();
            if let Some(k) = key {
                if let Some(w) = s.watches.get(name).and_then(|ws| ws.iter().find(|w| w.key == Some(k))) {
                    return w.id;
                }
            }
            let id = WatchId(s.next_watch);
            s.next_watch += 1;
            s.watches.entry(name.to_string()).or_default().push(Watch { id, key, handler: handler.clone() });
            drop(s);
            (id, self.get(name))
        };
        if let Some(data) = existing {
            handler(data).await;
        }
        id
    }

    pub fn unwatch(&self, name: &str, id: WatchId) {
        let mut s = self.state.borrow_mut();
        if let Some(ws) = s.watches.get_mut(name) {
            ws.retain(|w| w.id != id);
            if ws.is_empty() {
                s.watches.remove(name);
            }
        }
    }

    pub fn unwatch_key(&self, name: &str, key: WatchKey) {
        let id = self.state.borrow().watches.get(name).and_then(|ws| ws.iter().find(|w| w.key == Some(key)).map(|w| w.id));
        if let Some(id) = id {
            self.unwatch(name, id);
        }
    }

    /// How many watches are installed (to check that waits clean up after themselves).
    pub fn watch_count(&self) -> usize {
        self.state.borrow().watches.values().map(Vec::len).sum()
    }

    /// A local worker stopped: it is no longer ready, and jobs to it fail as "stopped".
    pub fn unregister_local(&self, name: &str) {
        let gone = {
            let mut s = self.state.borrow_mut();
            let removed = s.local.data.get(name).cloned();
            if removed.is_some() {
                s.local.remove(name);
                s.stopped.insert(name.to_string());
            }
            removed
        };
        self.emit(gone.into_iter().map(|d| RegistryEvent::Gone(d, GoneReason::Stopped)).collect());
    }

    /// The workers registered for a remote runner, in registration order.
    pub fn remote_workers_of(&self, runner: &str) -> Vec<String> {
        self.state.borrow().remote.iter().find(|(r, _)| r == runner).map(|(_, b)| b.order.clone()).unwrap_or_default()
    }

    /// Forgets one worker of a remote runner (it stopped, or its runner ended); true if it was there.
    pub fn unregister_remote(&self, runner: &str, name: &str, reason: GoneReason) -> bool {
        let gone = {
            let mut s = self.state.borrow_mut();
            let removed = match s.remote.iter_mut().find(|(r, _)| r == runner) {
                Some((_, b)) => b.data.get(name).cloned().filter(|_| b.remove(name)),
                None => None,
            };
            if removed.is_some() {
                s.stopped.insert(name.to_string());
            }
            removed
        };
        let removed = gone.is_some();
        self.emit(gone.into_iter().map(|d| RegistryEvent::Gone(d, reason)).collect());
        removed
    }

    /// Forgets every worker of a remote runner; returns their names.
    /// With `stopped`, its workers are known to have stopped (jobs to them fail at once);
    /// without, the runner only went silent and they may come back (jobs wait for them).
    pub fn remove_runner(&self, runner: &str, stopped: bool) -> Vec<String> {
        let names = {
            let mut s = self.state.borrow_mut();
            let names = match s.remote.iter().position(|(r, _)| r == runner) {
                Some(i) => s.remote.remove(i).1.order,
                None => Vec::new(),
            };
            if stopped {
                s.stopped.extend(names.iter().cloned());
            }
            names
        };
        let reason = if stopped { GoneReason::RunnerEnded } else { GoneReason::RunnerSilent };
        let data = |n: &String| ReadyData { worker_name: n.clone(), runner: runner.to_string() };
        self.emit(names.iter().map(|n| RegistryEvent::Gone(data(n), reason)).collect());
        names
    }
}
