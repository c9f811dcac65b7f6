//! A worker's children and the workers it watches for readiness.

use super::{Phase, ReadyListener, Worker};
use super::WorkerEvent;
use crate::core::message::Body;
use crate::core::registry::{ReadyData, WatchFn, WatchKey};
use crate::core::{ApiError, Value};
use std::rc::Rc;

impl<V: Value> Worker<V> {
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
            c.0.state.borrow_mut().parent = Some(self.0.name.to_string());
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

    pub(super) async fn install_watch(&self, name: &str) {
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
}

fn call_ready_listener<V: Value>(worker: &Worker<V>, listener: &ReadyListener, data: ReadyData) {
    let _ = worker;
    listener(data);
}
