//! What a requester makes of the answers to its jobs (responses, updates, streams) and of
//! workers that are gone, and the events it reports for them to its owner.

use super::{answer_cause, JobEventKind, JobFailure, Outcome};
use super::group::JobGroup;
use super::requester::Requester;
use crate::core::hash::HashSet;
use crate::core::message::{Body, JobStatus, Message, SharedStr};
use crate::core::reasons;
use crate::core::{present, Value};
use std::rc::Rc;

impl<V: Value> Requester<V> {
    /// Workers that are gone with `runner` (it left or stopped answering, or stopped them):
    /// every open group still waiting on one of them there sends that member again to another
    /// instance when it may retry, and otherwise gets a `cancelled` answer for it with
    /// "worker '<w>' stopped", as if the worker had stopped. Returns the events to emit.
    pub fn workers_gone(&self, runner: &str, names: &HashSet<String>) -> Vec<AnswerEvent<V>> {
        let mut events = Vec::new();
        let registry = self.link().map(|l| l.registry);
        let open: Vec<(SharedStr, JobGroup<V>)> = self.groups.borrow().iter().map(|(i, g)| (i.clone(), g.clone())).collect();
        for (job_id, group) in open {
            for worker in group.worker_names().to_vec() {
                if group.is_done() || !names.contains(worker.as_str()) || group.0.state.borrow().terminated.contains(&worker) {
                    continue;
                }
                let placed_on = group.0.state.borrow().placed(&worker).map(|p| p.runner.clone());
                let gone = match placed_on {
                    // Sent to a chosen instance: only that instance's departure concerns it.
                    Some(instance) => instance == runner && !self.retry(&job_id, &group, &worker),
                    // A name that is ready again (a new worker took it) is not gone.
                    None => !registry.as_ref().is_some_and(|r| r.has(&worker)),
                };
                if !gone {
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

    /// An answer from an instance the member is no longer placed on (a retry went elsewhere):
    /// it is ignored. Answers that do not name their runner (Pipecat's) are taken.
    fn is_stale(&self, job_id: &str, message: &Message<V>) -> bool {
        let Some(from) = &message.source_runner else { return false };
        self.group(job_id).is_some_and(|g| g.0.state.borrow().placed(&message.source).is_some_and(|p| p.runner != *from))
    }

    /// Handles a message addressed to this requester; returns the events to emit, in order.
    /// Returns `None` for messages that are not job answers. Only events that `wants` (by
    /// kind) are made: a job completed event copies the responses.
    pub fn on_message(&self, message: &Rc<Message<V>>, wants: &dyn Fn(AnswerKind) -> bool) -> Option<Vec<AnswerEvent<V>>> {
        let source = &message.source;
        let mut events = Events { list: Vec::new(), wants };
        if message.job_id().is_some_and(|id| self.is_stale(id, message)) {
            return Some(Vec::new());
        }
        match &message.body {
            Body::JobResponse { job_id, status, response, .. } => {
                let group = self.group(job_id);
                if let Some(g) = &group {
                    let mut s = g.0.state.borrow_mut();
                    s.terminated.insert(source);
                    s.last_status = Some(*status);
                    let claim = s.release(source);
                    drop(s);
                    drop(claim);
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
                self.push_event(job_id, JobEventKind::Update, message);
                if self.group(job_id).is_some() {
                    let (job_id, worker_name, data) = (job_id.clone(), source.to_string(), update.clone());
                    self.tell_ui(|at| Body::UiJobUpdate { job_id, worker_name, data, at });
                }
            }
            Body::JobStreamStart { job_id, .. } => {
                events.push(AnswerEvent::StreamStart(message.clone()));
                self.push_event(job_id, JobEventKind::StreamStart, message);
            }
            Body::JobStreamData { job_id, .. } => {
                events.push(AnswerEvent::StreamData(message.clone()));
                self.push_event(job_id, JobEventKind::StreamData, message);
            }
            Body::JobStreamEnd { job_id, data } => {
                let group = self.group(job_id);
                events.push(AnswerEvent::StreamEnd(message.clone()));
                if let Some(g) = group {
                    let claim = {
                        let mut s = g.0.state.borrow_mut();
                        s.terminated.insert(source);
                        s.last_status = Some(JobStatus::Completed);
                        s.release(source)
                    };
                    drop(claim);
                    g.push_event(JobEventKind::StreamEnd, message);
                    self.tell_ui_completed(job_id, source, JobStatus::Completed, data.clone());
                    g.record(source, data.clone());
                    self.complete_if_answered(&g, job_id, &mut events);
                }
            }
            _ => return None,
        }
        Some(events.list)
    }

    pub(super) fn push_event(&self, job_id: &str, kind: JobEventKind, message: &Rc<Message<V>>) {
        if let Some(g) = self.group(job_id) {
            g.push_event(kind, message);
        }
    }

    fn complete_if_answered(&self, group: &JobGroup<V>, job_id: &SharedStr, events: &mut Events<'_, V>) {
        if group.all_answered() {
            self.groups.borrow_mut().remove(job_id);
            if (events.wants)(AnswerKind::Completed) {
                events.list.push(AnswerEvent::Completed { job_id: job_id.clone(), responses: group.responses() });
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
    Completed { job_id: SharedStr, responses: Vec<(SharedStr, V)> },
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
    pub(super) list: Vec<AnswerEvent<V>>,
    wants: &'a dyn Fn(AnswerKind) -> bool,
}

impl<V: Value> Events<'_, V> {
    pub(super) fn push(&mut self, event: AnswerEvent<V>) {
        if (self.wants)(event.kind()) {
            self.list.push(event);
        }
    }
}
