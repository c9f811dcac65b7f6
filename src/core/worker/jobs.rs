//! The worker side of jobs: handlers, requests, answers, updates, streams and cancels.

use super::{not_attached, Attachment, JobHandler, NamedHandler, Phase, Worker, EARLY_CANCELS};
use super::{JobRequest, JobRequestData, SendError, StreamPart, WorkerEvent};
use crate::core::bus::Refusal;
use crate::core::hash::HashSet;
use crate::core::message::{Body, JobStatus, Message, SharedStr};
use crate::core::platform::LogLevel;
use crate::core::reasons;
use crate::core::sync::{race, AbortToken, Flag};
use crate::core::{present, ApiError, Thrown, Value};
use std::cell::RefCell;
use std::rc::Rc;

impl<V: Value> Worker<V> {
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
        match s.job_keys.get(job_id).and_then(|key| s.active_jobs.get(key)) {
            Some(r) => Ok((attached, r.clone())),
            None => Err(ApiError::Error(format!("Worker '{}': no active job '{job_id}' to {what}", self.0.name))),
        }
    }

    /// The attachment and the request of the active job keyed `key`; `None` when no active job
    /// has that key (the caller then names the job by its id for the error).
    fn keyed_job(&self, key: u64) -> Result<Option<(Attachment<V>, JobRequest<V>)>, ApiError> {
        let s = self.0.state.borrow();
        let attached = s.attached.clone().ok_or_else(|| not_attached(&self.0.name))?;
        Ok(s.active_jobs.get(&key).map(|r| (attached, r.clone())))
    }

    /// `send_job_response` for the job keyed `key` (see `JobRequestData::key`); `false` when no
    /// active job has that key, and nothing was sent.
    pub fn send_keyed_job_response(&self, key: u64, response: Option<V>, status: JobStatus, urgent: bool) -> Result<bool, ApiError> {
        let Some((attached, request)) = self.keyed_job(key)? else { return Ok(false) };
        self.answer_request(&attached, &request, response, status, urgent, None);
        Ok(true)
    }

    /// `send_job_update` for the job keyed `key`; `false` when no active job has that key.
    pub fn send_keyed_job_update(&self, key: u64, update: Option<V>, urgent: bool) -> Result<bool, SendError<V>> {
        let Some((attached, request)) = self.keyed_job(key)? else { return Ok(false) };
        let body = Body::JobUpdate { job_id: request.id.clone(), update, urgent };
        self.send_request_event(&attached, &request, "update", body)?;
        Ok(true)
    }

    /// `send_job_stream` for the job keyed `key`; `false` when no active job has that key.
    pub fn send_keyed_job_stream(&self, key: u64, part: StreamPart, data: Option<V>) -> Result<bool, SendError<V>> {
        let Some((attached, request)) = self.keyed_job(key)? else { return Ok(false) };
        self.stream_request(&attached, &request, part, data)?;
        Ok(true)
    }


    /// Answers a job. A response its link refuses is replaced by an `error` answer naming why,
    /// so the requester learns at once instead of waiting for a deadline.
    pub fn send_job_response(&self, job_id: &str, response: Option<V>, status: JobStatus, urgent: bool) -> Result<(), ApiError> {
        let (attached, request) = self.active_job(job_id, "respond to")?;
        self.answer_request(&attached, &request, response, status, urgent, None);
        Ok(())
    }

    /// The one way a job is answered (`request` is active); `cause` is what its handler threw,
    /// if it did.
    fn answer_request(&self, attached: &Attachment<V>, request: &JobRequest<V>, response: Option<V>, status: JobStatus, urgent: bool, cause: Option<V>) {
        let body = Body::JobResponse { job_id: request.id.clone(), status, response, urgent };
        if let Err(refusal) = attached.bus.try_send(self.to_requester(attached, &request.source, &request.source_runner, body).with_cause(cause)) {
            let body = Body::JobResponse { job_id: request.id.clone(), status: JobStatus::Error, response: Some(V::error_object(&refusal.message)), urgent };
            attached.bus.send(self.to_requester(attached, &request.source, &request.source_runner, body));
        }
        self.finish_job(request);
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
        self.send_request_event(&attached, &request, what, body)
    }

    fn send_request_event(&self, attached: &Attachment<V>, request: &JobRequest<V>, what: &str, body: Body<V>) -> Result<(), SendError<V>> {
        attached.bus.try_send(self.to_requester(attached, &request.source, &request.source_runner, body)).map_err(|r| {
            let noun = if what == "update" { "an update" } else { "a stream message" };
            SendError::Refused(Refusal { message: format!("Worker '{}': could not send {noun} of job '{}': {}", self.0.name, request.id, r.message), cause: r.cause })
        })
    }

    pub fn send_job_update(&self, job_id: &str, update: Option<V>, urgent: bool) -> Result<(), SendError<V>> {
        self.send_job_event(job_id, "update", Body::JobUpdate { job_id: job_id.into(), update, urgent })
    }

    /// Stream start, data or end; the end completes the job with `data` as its response.
    pub fn send_job_stream(&self, job_id: &str, part: StreamPart, data: Option<V>) -> Result<(), SendError<V>> {
        let (attached, request) = self.active_job(job_id, "stream")?;
        self.stream_request(&attached, &request, part, data)
    }

    fn stream_request(&self, attached: &Attachment<V>, request: &JobRequest<V>, part: StreamPart, data: Option<V>) -> Result<(), SendError<V>> {
        let id = request.id.clone();
        let body = match part {
            StreamPart::Start => Body::JobStreamStart { job_id: id, data },
            StreamPart::Data => Body::JobStreamData { job_id: id, data },
            StreamPart::End => Body::JobStreamEnd { job_id: id, data },
        };
        self.send_request_event(attached, request, "stream", body)?;
        if part == StreamPart::End {
            self.finish_job(request);
        }
        Ok(())
    }

    fn finish_job(&self, request: &JobRequest<V>) {
        let (finished, idle) = {
            let mut s = self.0.state.borrow_mut();
            let finished = s.active_jobs.remove(&request.key);
            if finished.is_some() {
                s.job_keys.remove(&request.id);
            }
            (finished, if s.active_jobs.is_empty() { s.idle.take() } else { None })
        };
        // The host's object may point back at the request: let both go.
        if let Some(request) = finished {
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

    pub(super) fn handle_request(&self, message: &Rc<Message<V>>, job_id: &SharedStr, job_name: &Option<String>, payload: &Option<V>, attempt: Option<u32>) {
        let Ok(attached) = self.attachment() else { return };
        let phase = self.phase();
        if phase == Phase::Created {
            self.0.state.borrow_mut().deferred.push(message.clone());
            return;
        }
        if phase >= Phase::Stopping {
            let reason = reasons::stopped(&self.0.name);
            let body = Body::JobResponse {
                job_id: job_id.clone(),
                status: JobStatus::Cancelled,
                response: Some(V::reason_object(&reason)),
                urgent: false,
            };
            attached.bus.send(self.to_requester(&attached, &message.source, &message.source_runner, body));
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
            let body = Body::JobResponse { job_id: job_id.clone(), status: JobStatus::Cancelled, response: reason.as_deref().map(V::reason_object), urgent: false };
            attached.bus.send(self.to_requester(&attached, &message.source, &message.source_runner, body));
            self.emit(WorkerEvent::JobCancelled(cancel));
            return;
        }
        let key = {
            let mut s = self.0.state.borrow_mut();
            s.next_job_seq += 1;
            s.next_job_seq
        };
        let request = JobRequest(Rc::new(JobRequestData {
            id: job_id.clone(),
            key,
            name: job_name.clone(),
            payload: payload.clone(),
            source: message.source.clone(),
            source_runner: message.source_runner.clone(),
            attempt: attempt.unwrap_or(1),
            abort: AbortToken::new(),
            host: RefCell::new(None),
            worker: Rc::downgrade(&self.0),
        }));
        let (handler, tail) = {
            let mut s = self.0.state.borrow_mut();
            // A job id that comes again while active replaces its job, as Pipecat's dict does.
            if let Some(replaced) = s.job_keys.insert(job_id.clone(), key) {
                s.active_jobs.remove(&replaced);
            }
            s.active_jobs.insert(key, request.clone());
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
            // A sequential handler waits for the one before it, in its own task.
            Some(handler) if tail.is_some() => attached.env.spawn(Box::pin(run_handler(self.clone(), handler, request.clone(), tail))),
            Some(handler) => {
                self.emit(WorkerEvent::JobRequest(request.clone()));
                self.start_handler(&attached, handler, request);
                return;
            }
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

    /// Runs a handler that waits for no other: at once, answering at once when it returns a
    /// plain value (most do), and in a task of its own only when it has to wait. The event of
    /// the request comes first, as when the handler runs later.
    fn start_handler(&self, attached: &Attachment<V>, handler: JobHandler<V>, request: JobRequest<V>) {
        use futures::FutureExt;
        // Its "jobRequest" listener may have cancelled it.
        if !self.is_request_active(&request) {
            return;
        }
        let mut running = handler(request.clone());
        // A first poll without a waker: the task below polls again, with its own, if it waits.
        match (&mut running).now_or_never() {
            Some(result) => handler_settled(self, &request, result),
            None => {
                let worker = self.clone();
                attached.env.spawn(Box::pin(async move {
                    let result = running.await;
                    handler_settled(&worker, &request, result);
                }));
            }
        }
    }

    /// Whether `request` is still active (not answered, and not replaced by a job with its id).
    pub(super) fn is_job_active(&self, job_id: &str) -> bool {
        self.0.state.borrow().job_keys.contains_key(job_id)
    }

    pub(super) fn is_request_active(&self, request: &JobRequest<V>) -> bool {
        self.0.state.borrow().active_jobs.contains_key(&request.key)
    }

    pub(super) fn handle_cancel(&self, message: &Rc<Message<V>>, job_id: &SharedStr, reason: &Option<String>) {
        let request = {
            let s = self.0.state.borrow();
            s.job_keys.get(job_id).and_then(|key| s.active_jobs.get(key)).cloned()
        };
        let Some(request) = request else {
            // A cancel (system lane) can overtake its own request (data lane): keep it for the
            // request, so that the job never starts. Cancels for finished jobs fall off the end.
            let mut s = self.0.state.borrow_mut();
            if !s.early_cancels.iter().any(|(id, _)| id == job_id) {
                if s.early_cancels.len() == EARLY_CANCELS {
                    s.early_cancels.pop_front();
                }
                s.early_cancels.push_back((job_id.clone(), message.clone()));
            }
            return;
        };
        request.abort.abort(reason.as_deref().unwrap_or(reasons::CANCELLED));
        if let Ok(Some((attached, request))) = self.keyed_job(request.key) {
            let response = reason.as_deref().map(V::reason_object);
            self.answer_request(&attached, &request, response, JobStatus::Cancelled, false, None);
        }
        self.emit(WorkerEvent::JobCancelled(message.clone()));
    }

    /// Requesters that are gone with `runner` cannot take answers: their jobs here are aborted
    /// and dropped. A job from another runner's instance of the same name goes on.
    pub(crate) fn requesters_gone(&self, runner: &str, names: &HashSet<String>) {
        let from_there = |j: &JobRequest<V>| names.contains(j.source.as_str()) && j.source_runner.as_deref().is_none_or(|r| r == runner);
        for job in self.active_jobs().into_iter().filter(from_there) {
            job.abort.abort(&reasons::stopped(&job.source));
            self.finish_job(&job);
        }
    }

    /// Remote workers are gone with `runner`: the groups this worker requested from them are
    /// sent again to another instance or fail.
    pub(crate) fn workers_gone(&self, runner: &str, names: &HashSet<String>) {
        for event in self.0.requester.workers_gone(runner, names) {
            self.emit(event.into());
        }
    }
}

/// Runs one handler (after the previous one of a sequential name) and answers for it when it
/// settles while the job is still active.
async fn run_handler<V: Value>(worker: Worker<V>, handler: JobHandler<V>, request: JobRequest<V>, tail: Option<(Option<Flag>, Flag)>) {
    if let Some((Some(previous), _)) = &tail {
        race(previous.wait(), request.abort.wait()).await;
    }
    if worker.is_request_active(&request) {
        let result = handler(request.clone()).await;
        handler_settled(&worker, &request, result);
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

/// Answers for a handler that settled while its job is still active; what a handler threw
/// after its job ended is reported instead.
fn handler_settled<V: Value>(worker: &Worker<V>, request: &JobRequest<V>, result: Result<Option<V>, Thrown<V>>) {
    if worker.is_request_active(request) {
        let attached = match worker.attachment() {
            Ok(attached) => attached,
            Err(e) => return worker.log(LogLevel::Warn, &e.to_string()),
        };
        match result {
            Ok(response) => worker.answer_request(&attached, request, Some(present(response).unwrap_or_else(V::empty_object)), JobStatus::Completed, false, None),
            Err(thrown) => {
                let cause = thrown.clone().into_value();
                worker.answer_request(&attached, request, Some(V::error_object(&thrown.message)), JobStatus::Error, false, Some(cause));
            }
        }
    } else if let Err(thrown) = result {
        worker.report_handler_error(&request.id, thrown, request.abort.is_aborted());
    }
}
