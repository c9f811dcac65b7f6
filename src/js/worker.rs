//! `CoreWorker`: a worker, its job handlers and events, and the façade's `JobRequest` objects.

use super::shared::*;
use super::requester::CoreRequester;
use super::convert;
use super::{error_message, opt, set};
use crate::boundary;
use crate::core::registry::ReadyData;
use crate::core::worker::{JobHandler, JobRequest, Worker, WorkerEvent};
use crate::core::{ApiError, Thrown};
use js_sys::{Array, Function, Object, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

// ----- worker ------------------------------------------------------------------------------

/// Makes the façade's `JobRequest` objects of one worker.
/// Shared, so that a job takes it without cloning a JavaScript reference.
type Factory = Rc<std::cell::RefCell<Option<Rc<Function>>>>;

#[wasm_bindgen]
pub struct CoreWorker {
    pub(super) worker: Worker<JsValue>,
    pub(super) factory: Factory,
}

#[wasm_bindgen]
impl CoreWorker {
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, active: bool) -> CoreWorker {
        CoreWorker { worker: Worker::new(name, active), factory: Rc::default() }
    }
    /// Another handle on the same worker (handles passed in arrays are consumed).
    #[wasm_bindgen(js_name = cloneHandle)]
    pub fn clone_handle(&self) -> CoreWorker {
        CoreWorker { worker: self.worker.clone(), factory: self.factory.clone() }
    }
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.worker.name().to_string()
    }
    #[wasm_bindgen(getter)]
    pub fn active(&self) -> bool {
        self.worker.is_active()
    }
    #[wasm_bindgen(getter, js_name = activationArgs)]
    pub fn activation_args(&self) -> JsValue {
        self.worker.activation_args().unwrap_or(JsValue::NULL)
    }
    #[wasm_bindgen(getter)]
    pub fn parent(&self) -> Option<String> {
        self.worker.parent()
    }
    #[wasm_bindgen(getter, js_name = startedAt)]
    pub fn started_at(&self) -> Option<f64> {
        self.worker.started_at()
    }
    pub fn finished(&self) -> Promise {
        let w = self.worker.clone();
        future_to_promise(async move {
            w.finished().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `factory(id, name, payload, source)` makes the façade's `JobRequest` of a job.
    #[wasm_bindgen(js_name = setRequestFactory)]
    pub fn set_request_factory(&self, factory: Function) {
        *self.factory.borrow_mut() = Some(Rc::new(factory));
    }

    #[wasm_bindgen(js_name = onJob)]
    pub fn on_job(&self, job_name: Option<String>, handler: Function, sequential: bool) -> Result<(), JsValue> {
        let factory = self.factory.clone();
        let h: JobHandler<JsValue> = Rc::new(move |req: JobRequest<JsValue>| {
            let outer = PENDING.with(|p| p.take());
            let returned = handler.call1(&JsValue::UNDEFINED, &host_request(&factory, &req));
            // The façade's wrapper (`untilJobEnds`) said the answer comes later.
            let pending = PENDING.with(|p| p.replace(outer));
            let thrown = |e: JsValue| Thrown { message: error_message(&e), value: Some(e) };
            match (pending, returned) {
                (Some(slot), _) => Box::pin(async move {
                    match slot.await {
                        Ok(v) => Ok(Some(v)),
                        Err(e) => Err(thrown(e)),
                    }
                }),
                (None, Ok(v)) => Box::pin(std::future::ready(Ok(Some(v)))), // the engine drops a nullish answer
                (None, Err(e)) => Box::pin(std::future::ready(Err(thrown(e)))),
            }
        });
        self.worker.on_job(job_name.as_deref(), h, sequential).map_err(to_js)
    }

    /// `sink(index, arg)` for each event whose bit is set in `mask` (see `EVENT_NAMES`).
    #[wasm_bindgen(js_name = setEventSink)]
    pub fn set_event_sink(&self, sink: Option<Function>, mask: u32) {
        let factory = self.factory.clone();
        let sink = sink.map(|f| {
            Rc::new(move |e: WorkerEvent<JsValue>| {
                let index = JsValue::from_f64(e.index() as f64);
                let arg = event_arg(e, &factory);
                let _ = f.call2(&JsValue::UNDEFINED, &index, &arg);
            }) as Rc<dyn Fn(WorkerEvent<JsValue>)>
        });
        self.worker.set_event_sink(sink, mask);
    }

    #[wasm_bindgen(js_name = onWorkerReady)]
    pub fn on_worker_ready(&self, name: String, listener: Function) -> Promise {
        let w = self.worker.clone();
        future_to_promise(async move {
            let l = Rc::new(move |d: ReadyData| {
                let listener = listener.clone();
                wasm_bindgen_futures::spawn_local(async move { call_logged(&listener, &convert::ready_data(&d), "an onWorkerReady listener").await });
            });
            w.on_worker_ready(&name, l).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `sendJobResponse`, `sendJobUpdate` and `sendJobStream` for the job a `JobRequest` holds
    /// the key of (see `crate::core::worker::JobRequestData::key`): no id crosses, nor is looked
    /// up. `false` when that job is no longer active and nothing was sent: the request then
    /// calls the method with its id, for the error.
    #[wasm_bindgen(js_name = sendKeyedJobResponse)]
    pub fn send_keyed_job_response(&self, key: f64, response: JsValue, status_name: &str, urgent: bool) -> Result<bool, JsValue> {
        self.worker.send_keyed_job_response(key as u64, present(response), status(status_name)?, urgent).map_err(to_js)
    }
    #[wasm_bindgen(js_name = sendKeyedJobUpdate)]
    pub fn send_keyed_job_update(&self, key: f64, update: JsValue, urgent: bool) -> Result<bool, JsValue> {
        self.worker.send_keyed_job_update(key as u64, present(update), urgent).map_err(send_error)
    }
    #[wasm_bindgen(js_name = sendKeyedJobStream)]
    pub fn send_keyed_job_stream(&self, key: f64, kind: u8, data: JsValue) -> Result<bool, JsValue> {
        self.worker.send_keyed_job_stream(key as u64, boundary::stream_part(kind), present(data)).map_err(send_error)
    }
    #[wasm_bindgen(js_name = sendJobResponse)]
    pub fn send_job_response(&self, job_id: &str, response: JsValue, status_name: &str, urgent: bool) -> Result<(), JsValue> {
        self.worker.send_job_response(job_id, present(response), status(status_name)?, urgent).map_err(to_js)
    }
    #[wasm_bindgen(js_name = sendJobUpdate)]
    pub fn send_job_update(&self, job_id: &str, update: JsValue, urgent: bool) -> Result<(), JsValue> {
        self.worker.send_job_update(job_id, present(update), urgent).map_err(send_error)
    }
    /// `kind`: the part's number in `boundary::STREAM_PARTS`.
    #[wasm_bindgen(js_name = sendJobStream)]
    pub fn send_job_stream(&self, job_id: &str, kind: u8, data: JsValue) -> Result<(), JsValue> {
        self.worker.send_job_stream(job_id, boundary::stream_part(kind), present(data)).map_err(send_error)
    }
    /// A handler's promise rejected after its job `job_id` was over (`aborted`: cancelled or
    /// stopped); the engine reports it.
    #[wasm_bindgen(js_name = reportHandlerError)]
    pub fn report_handler_error(&self, job_id: &str, error: JsValue, aborted: bool) {
        self.worker.report_handler_error(job_id, Thrown { message: error_message(&error), value: Some(error) }, aborted);
    }
    /// `message`: a message object whose `source` the façade filled in; a malformed one is a
    /// `TypeError` naming what is wrong.
    #[wasm_bindgen(js_name = sendBusMessage)]
    pub fn send_bus_message(&self, message: &JsValue) -> Result<(), JsValue> {
        let message = convert::message_from(message).map_err(|e| to_js(ApiError::Type(format!("message: {e}"))))?;
        self.worker.send_bus_message(message).map_err(to_js)
    }
    #[wasm_bindgen(js_name = sendBusErrorMessage)]
    pub fn send_bus_error_message(&self, error: &str) -> Result<(), JsValue> {
        self.worker.send_bus_error_message(error).map_err(to_js)
    }

    #[wasm_bindgen(getter)]
    pub fn requester(&self) -> CoreRequester {
        CoreRequester { requester: self.worker.requester().clone() }
    }
    #[wasm_bindgen(js_name = requestJobUpdate)]
    pub fn request_job_update(&self, job_id: &str, worker: &str) -> Result<(), JsValue> {
        self.worker.request_job_update(job_id, worker).map_err(to_js)
    }
    #[wasm_bindgen(js_name = activeJobs)]
    pub fn active_jobs(&self) -> Array {
        self.worker.active_jobs().iter().map(|r| host_request(&self.factory, r)).collect()
    }

    #[wasm_bindgen(js_name = addWorkers)]
    pub fn add_workers(&self, children: Vec<CoreWorker>) -> Promise {
        let w = self.worker.clone();
        let children = children.into_iter().map(|c| c.worker).collect();
        future_to_promise(async move { w.add_workers(children).await.map(|_| JsValue::UNDEFINED).map_err(to_js) })
    }
    #[wasm_bindgen(js_name = watchWorkers)]
    pub fn watch_workers(&self, names: Vec<String>) -> Promise {
        let w = self.worker.clone();
        future_to_promise(async move { w.watch_workers(names).await.map(|_| JsValue::UNDEFINED).map_err(to_js) })
    }
    #[wasm_bindgen(js_name = activateWorker)]
    pub fn activate_worker(&self, name: &str, args: JsValue, deactivate_self: bool) -> Result<(), JsValue> {
        self.worker.activate_worker(name, present(args), deactivate_self).map_err(to_js)
    }
    #[wasm_bindgen(js_name = deactivateWorker)]
    pub fn deactivate_worker(&self, name: &str) -> Result<(), JsValue> {
        self.worker.deactivate_worker(name).map_err(to_js)
    }
    pub fn stop(&self, reason: Option<String>, grace_ms: Option<f64>) -> Promise {
        let w = self.worker.clone();
        future_to_promise(async move {
            w.stop(reason, grace_ms).await.map(|_| JsValue::UNDEFINED).map_err(to_js)
        })
    }
    #[wasm_bindgen(js_name = endSession)]
    pub fn end_session(&self, reason: Option<String>) -> Result<(), JsValue> {
        self.worker.end_session(reason).map_err(to_js)
    }
    #[wasm_bindgen(js_name = cancelSession)]
    pub fn cancel_session(&self, reason: Option<String>) -> Result<(), JsValue> {
        self.worker.cancel_session(reason).map_err(to_js)
    }
}

fn event_arg(e: WorkerEvent<JsValue>, factory: &Factory) -> JsValue {
    use WorkerEvent::*;
    match e {
        Activated(args) => args.unwrap_or(JsValue::NULL),
        Deactivated | Finished => JsValue::UNDEFINED,
        WorkerReady(d) => convert::ready_data(&d),
        WorkerFailed { worker_name, error } => {
            let o = Object::new();
            set(&o, "workerName", &JsValue::from_str(&worker_name));
            set(&o, "error", &JsValue::from_str(&error));
            o.into()
        }
        JobRequest(request) => host_request(factory, &request),
        JobResponse(m) | JobUpdate(m) | JobUpdateRequested(m) | JobError(m) | JobStreamStart(m) | JobStreamData(m)
        | JobStreamEnd(m) | JobCancelled(m) | BusMessage(m) => convert::message(&m),
        Error(thrown) => thrown,
        JobCompleted { job_id, responses } => {
            let o = Object::new();
            set(&o, "jobId", &JsValue::from_str(&job_id));
            set(&o, "responses", &convert::responses(&responses));
            o.into()
        }
    }
}

// ----- answers that come later -----------------------------------------------------------------

/// Where a handler's later answer arrives (`settleHandler`), and who waits for it.
#[derive(Default)]
struct Slot {
    answer: std::cell::RefCell<Option<Result<JsValue, JsValue>>>,
    waker: std::cell::RefCell<Option<std::task::Waker>>,
}

#[derive(Clone)]
struct SlotWait(Rc<Slot>);

impl std::future::Future for SlotWait {
    type Output = Result<JsValue, JsValue>;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.0.answer.borrow_mut().take() {
            Some(answer) => std::task::Poll::Ready(answer),
            None => {
                *self.0.waker.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

thread_local! {
    /// The slot `handlerPending` made during the current handler call.
    static PENDING: std::cell::RefCell<Option<SlotWait>> = const { std::cell::RefCell::new(None) };
    /// Slots waiting for `settleHandler`, by key.
    static SLOTS: std::cell::RefCell<(Vec<Option<Rc<Slot>>>, Vec<u32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Called by the façade's handler wrapper during a handler call: the answer comes later, through
/// `settleHandler(key, …)` with the key returned. Cheaper than awaiting a promise from here
/// (two closures and their finalizers per job).
#[wasm_bindgen(js_name = handlerPending)]
pub fn handler_pending() -> u32 {
    let slot = Rc::new(Slot::default());
    PENDING.with(|p| *p.borrow_mut() = Some(SlotWait(slot.clone())));
    SLOTS.with(|s| {
        let (slots, free) = &mut *s.borrow_mut();
        match free.pop() {
            Some(key) => {
                slots[key as usize] = Some(slot);
                key
            }
            None => {
                slots.push(Some(slot));
                (slots.len() - 1) as u32
            }
        }
    })
}

/// The later answer of a handler (`ok`: its value; else what it threw); once per key.
#[wasm_bindgen(js_name = settleHandler)]
pub fn settle_handler(key: u32, ok: bool, value: JsValue) {
    let slot = SLOTS.with(|s| {
        let (slots, free) = &mut *s.borrow_mut();
        let slot = slots.get_mut(key as usize).and_then(Option::take);
        if slot.is_some() {
            free.push(key);
        }
        slot
    });
    if let Some(slot) = slot {
        *slot.answer.borrow_mut() = Some(if ok { Ok(value) } else { Err(value) });
        let waker = slot.waker.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

// ----- job requests (worker side) ---------------------------------------------------------------

thread_local! {
    /// `hook(request, reason)`: tells a façade `JobRequest` that its job was aborted.
    static ABORT_HOOK: std::cell::RefCell<Option<Function>> = const { std::cell::RefCell::new(None) };
}

/// Sets how a façade `JobRequest` learns that its job was aborted (once, at load).
#[wasm_bindgen(js_name = setAbortHook)]
pub fn set_abort_hook(hook: Function) {
    ABORT_HOOK.with(|h| *h.borrow_mut() = Some(hook));
}

/// The façade's object for a job, made once by `factory(id, name, payload, source)` and kept
/// with the job while it is active; aborts are forwarded to it through the abort hook.
fn host_request(factory: &Factory, request: &JobRequest<JsValue>) -> JsValue {
    if let Some(existing) = request.host.borrow().clone() {
        return existing;
    }
    let Some(make) = factory.borrow().clone() else { return JsValue::UNDEFINED };
    let name = request.name.as_deref().map(super::interned).unwrap_or(JsValue::NULL);
    let payload = opt(request.payload.clone());
    let made = make.call5(&JsValue::UNDEFINED, &super::recent_id(&request.id), &name, &payload, &super::interned(&request.source), &JsValue::from_f64(request.key as f64));
    let Ok(object) = made else { return JsValue::UNDEFINED };
    if request.attempt > 1 {
        set(object.unchecked_ref(), "attempt", &JsValue::from(request.attempt));
    }
    if request.is_active() {
        *request.host.borrow_mut() = Some(object.clone());
    }
    let target = object.clone();
    request.abort.on_abort(move |reason| {
        ABORT_HOOK.with(|h| {
            if let Some(hook) = h.borrow().as_ref() {
                let _ = hook.call2(&JsValue::UNDEFINED, &target, &JsValue::from_str(reason));
            }
        })
    });
    object
}
