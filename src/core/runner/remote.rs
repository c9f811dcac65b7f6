//! The other runners on linked buses: their registry snapshots, heartbeats, and what is left
//! to do when one of them stops or goes silent.

use super::{RunnerInner, RunnerPhase};
use crate::core::hash::HashSet;
use crate::core::message::{Body, Message};
use crate::core::platform::LogLevel;
use crate::core::registry::{GoneReason, ReadyData, RegistryEntry};
use crate::core::sync::race;
use crate::core::Value;
use std::rc::Rc;

/// How runners on linked buses tell each other they are alive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Liveness {
    /// Milliseconds between heartbeats.
    pub interval: f64,
    /// Heartbeats missed before a runner is considered gone.
    pub misses: u32,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { interval: 1000.0, misses: 3 }
    }
}

impl Liveness {
    /// Milliseconds of silence after which a runner is considered gone.
    pub fn window(&self) -> f64 {
        self.interval * self.misses as f64
    }
}

/// Rate limit per runner: true (and `runner` stamped with `now`) unless it was stamped less
/// than `window` ago.
fn due(stamps: &mut Vec<(String, f64)>, runner: &str, now: f64, window: f64) -> bool {
    match stamps.iter_mut().find(|(r, _)| r == runner) {
        Some((_, at)) if now - *at < window => false,
        Some((_, at)) => {
            *at = now;
            true
        }
        None => {
            stamps.push((runner.to_string(), now));
            true
        }
    }
}

impl<V: Value> RunnerInner<V> {
    /// A snapshot lists all of a runner's workers: the listed ones are registered, the ones it
    /// no longer lists are gone, and an empty one is that runner's goodbye.
    pub(super) async fn handle_registry(self: Rc<Self>, runner: String, workers: Vec<RegistryEntry>) {
        let listed: HashSet<String> = workers.iter().map(|e| e.name.clone()).collect();
        // An empty snapshot is the runner's goodbye: its workers leave with it.
        let reason = if workers.is_empty() { GoneReason::RunnerEnded } else { GoneReason::Stopped };
        let gone: HashSet<String> = self
            .registry
            .remote_workers_of(&runner)
            .into_iter()
            .filter(|n| !listed.contains(n) && self.registry.unregister_remote(&runner, n, reason))
            .collect();
        if !gone.is_empty() {
            self.workers_gone(&runner, &gone);
        }
        if workers.is_empty() {
            // From a runner we know: goodbye. From a new one: hello, so tell it who we are.
            if self.state.borrow().known_runners.contains(&runner) {
                self.forget_runner(&runner);
            } else {
                self.send_registry();
            }
            return;
        }
        for entry in workers {
            self.registry.register(ReadyData { worker_name: entry.name, runner: runner.clone() }).await;
        }
        // Answer a new runner, and a known one at most once per liveness window: after an
        // outage it may have forgotten us while we still know it.
        let answer = {
            let now = self.env.now();
            let mut s = self.state.borrow_mut();
            let window = s.liveness.window();
            s.greeted.retain(|(r, _)| *r != runner);
            let is_new = s.known_runners.insert(runner.clone());
            let due = due(&mut s.answered, &runner, now, window);
            is_new || due
        };
        if answer {
            self.send_registry();
            // A heartbeat right behind it, so that the other runner counts our silence from now
            // on: our earlier heartbeats may have reached its bus before it listened.
            if self.bus.has_links() {
                self.bus.send(Message::new(&self.name, None, Body::System));
            }
        }
    }

    fn forget_runner(&self, runner: &str) {
        let mut s = self.state.borrow_mut();
        s.known_runners.remove(runner);
        s.heard_from.retain(|(r, _)| r != runner);
        s.answered.retain(|(r, _)| r != runner);
    }

    /// A remote runner left or stopped answering: its workers leave the registry, and jobs to
    /// them, or from them, end.
    pub(super) fn runner_gone(&self, runner: &str, stopped: bool) {
        let mut gone: HashSet<String> = self.registry.remove_runner(runner, stopped).into_iter().collect();
        self.forget_runner(runner);
        gone.insert(runner.to_string());
        self.workers_gone(runner, &gone);
    }

    /// Workers of `runner` that left: their jobs here end at once; jobs waiting on them are sent
    /// again or fail once the answers that arrived before this news are handled (each
    /// requester's data lane).
    fn workers_gone(&self, runner: &str, names: &HashSet<String>) {
        let entries = self.state.borrow().entries.clone();
        for w in &entries {
            w.requesters_gone(runner, names);
        }
        let (runner, names) = (Rc::new(runner.to_string()), Rc::new(names.clone()));
        let (requester, r, n) = (self.requester.clone(), runner.clone(), names.clone());
        self.defer(&self.name, Rc::new(move || drop(requester.workers_gone(&r, &n))));
        for w in entries.into_iter().filter(|w| !w.is_finished()) {
            let (worker, r, n) = (w.clone(), runner.clone(), names.clone());
            self.defer(w.name(), Rc::new(move || worker.workers_gone(&r, &n)));
        }
    }

    fn defer(&self, target: &str, action: Rc<dyn Fn()>) {
        self.bus.defer(&self.name, target, action);
    }

    /// While running: heartbeats to linked realms (the first one at once, so that peers start
    /// watching this runner right after its snapshot), and the check for runners gone silent.
    pub(super) async fn heartbeats(self: Rc<Self>) {
        loop {
            // Still alive while ending: peers must not give up on jobs within the grace period.
            if self.state.borrow().phase == RunnerPhase::Finished {
                return;
            }
            if self.bus.has_links() {
                self.bus.send(Message::new(&self.name, None, Body::System));
            }
            let liveness = self.state.borrow().liveness;
            // Ends with the runner, clearing its timer: nothing is left behind after `end()`.
            if !race(self.env.sleep(liveness.interval, false), self.finished.wait()).await {
                return;
            }
            let now = self.env.now();
            let silent: Vec<String> = self
                .state
                .borrow()
                .heard_from
                .iter()
                .filter(|(_, seen)| now - *seen > liveness.window())
                .map(|(r, _)| r.clone())
                .collect();
            for runner in silent {
                self.env.log(LogLevel::Warn, &format!("runner '{runner}' stopped answering; its workers are gone"));
                // Silent, not known to have stopped: its workers may come back after an outage.
                self.runner_gone(&runner, false);
            }
        }
    }

    /// A heartbeat from a runner we do not know (it came back after an outage, or its snapshot
    /// was lost): introduce ourselves, at most once per liveness window, so that it answers
    /// with its snapshot.
    pub(super) fn greet(&self, runner: &str) {
        let now = self.env.now();
        {
            let mut s = self.state.borrow_mut();
            let window = s.liveness.window();
            if s.phase != RunnerPhase::Running || !due(&mut s.greeted, runner, now, window) {
                return;
            }
        }
        self.announce(self.entries(false));
    }

    /// A bare system message from another runner is its heartbeat.
    pub(super) fn heard(&self, runner: &str) {
        let now = self.env.now();
        let mut s = self.state.borrow_mut();
        match s.heard_from.iter_mut().find(|(r, _)| r == runner) {
            Some(entry) => entry.1 = now,
            None => s.heard_from.push((runner.to_string(), now)),
        }
    }
}
