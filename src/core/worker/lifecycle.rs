//! A worker's life: activation, attachment to a runner, start, stop, cancel and the session.

use super::{Attachment, Phase, Worker, WorkerHost, WorkerState};
use super::WorkerEvent;
use crate::core::bus::{Bus, Subscriber};
use crate::core::job::WarningDelay;
use crate::core::message::{Body, JobStatus};
use crate::core::platform::Env;
use crate::core::reasons;
use crate::core::registry::{ReadyData, Registry, WatchKey};
use crate::core::sync::{race, Flag};
use crate::core::{present, ApiError, Value};
use futures::future::FutureExt;
use std::rc::{Rc, Weak};

impl<V: Value> Worker<V> {
    // ----- activation --------------------------------------------------------------------

    pub fn activate_worker(&self, name: &str, args: Option<V>, deactivate_self: bool) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        if deactivate_self && self.is_active() {
            self.0.state.borrow_mut().active = false;
            self.send(&attached, Some(self.0.name.clone()), Body::DeactivateWorker);
        }
        self.send(&attached, Some(name.into()), Body::ActivateWorker { args });
        Ok(())
    }

    pub fn deactivate_worker(&self, name: &str) -> Result<(), ApiError> {
        let attached = self.attachment()?;
        self.send(&attached, Some(name.into()), Body::DeactivateWorker);
        Ok(())
    }

    pub(super) fn handle_activate(&self, args: &Option<V>) {
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

    pub(super) fn handle_deactivate(&self) {
        {
            let mut s = self.0.state.borrow_mut();
            s.active = false;
            s.activation_args = None;
        }
        self.emit(WorkerEvent::Deactivated);
    }

    // ----- lifecycle -----------------------------------------------------------------------

    pub(crate) fn attach(&self, runner: Weak<dyn WorkerHost<V>>, runner_name: &str, not_ready_warning: WarningDelay, env: Env, bus: Bus<V>, registry: Registry) -> Result<(), ApiError> {
        let subscriber: Rc<dyn Subscriber<V>> = self.0.clone();
        bus.subscribe(&self.0.name, subscriber).map_err(ApiError::Error)?;
        self.0.requester.attach(env.clone(), bus.clone(), registry.clone(), not_ready_warning);
        self.0.state.borrow_mut().attached = Some(Attachment { env, bus, registry, runner, runner_name: runner_name.into() });
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
        let ready = Body::WorkerReady { runner: attached.runner_name.to_string(), parent, active, bridged: false, started_at: Some(started_at) };
        self.send(&attached, None, ready);
        attached.registry.register(ReadyData { worker_name: self.0.name.to_string(), runner: attached.runner_name.to_string() }).await;
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
            if let Body::JobRequest { job_id, job_name, payload, attempt } = &m.body {
                self.handle_request(&m, job_id, job_name, payload, *attempt);
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
            self.send(&attached, Some(c.name().into()), Body::EndWorker { reason: reason.clone() });
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
            self.send(attached, Some(c.name().into()), Body::CancelWorker { reason: reason.clone() });
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
}

