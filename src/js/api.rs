//! The `Core*` classes: thin handles on engine objects for the JS façade. Arguments arrive
//! already type-checked by the façade; value rules (and their errors) stay in the engine.

use super::convert;
use super::{env, error_message, opt, set};
use crate::boundary;
use crate::core::bus::{Bus, Refusal};
use crate::core::job::{JobGroup, JobParams, NextEvent, Outcome, Requester};
use crate::core::message::JobStatus;
use crate::core::platform::new_runner_name;
use crate::core::registry::{ReadyData, Registry, RegistryEvent, WatchFn, WatchKey};
use crate::core::runner::{Runner, RunnerEvent};
use crate::core::worker::{JobHandler, JobRequest, SendError, Worker, WorkerEvent};
use crate::core::{ApiError, Thrown};
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A promise for a future; boxing first keeps one copy of the promise glue in the binary.
fn future_to_promise(f: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    wasm_bindgen_futures::future_to_promise(Box::pin(f) as futures::future::LocalBoxFuture<'static, Result<JsValue, JsValue>>)
}

fn to_js(e: ApiError) -> JsValue {
    match e {
        ApiError::Type(m) => js_sys::TypeError::new(&m).into(),
        ApiError::Error(m) => js_sys::Error::new(&m).into(),
    }
}

/// A refused update or stream chunk: an `Error` naming the job, with the link's error as `cause`.
fn send_error(e: SendError<JsValue>) -> JsValue {
    match e {
        SendError::Api(e) => to_js(e),
        SendError::Refused(r) => {
            let error = js_sys::Error::new(&r.message);
            if let Some(cause) = r.cause {
                set(&error, "cause", &cause);
            }
            error.into()
        }
    }
}

fn status(s: &str) -> Result<JobStatus, JsValue> {
    JobStatus::parse(s).ok_or_else(|| to_js(ApiError::Type(format!("status must be one of completed, cancelled, failed, error; got '{s}'"))))
}

fn present(v: JsValue) -> Option<JsValue> {
    (!v.is_null_or_undefined()).then_some(v)
}

/// Awaits `v` if it is a thenable; a plain value is ready as it is.
async fn settle(v: JsValue) -> Result<JsValue, JsValue> {
    // Primitives first (one call into JavaScript), then `then` itself: a plain object costs
    // three calls rather than five.
    let thenable = (v.is_object() || v.is_function()) && (Reflect::get(&v, &super::interned("then")).is_ok_and(|t| t.is_function()) || v.is_instance_of::<Promise>());
    if thenable {
        JsFuture::from(Promise::resolve(&v)).await
    } else {
        Ok(v)
    }
}

/// Calls a JS callback for its effect; a throw or a rejection is logged, never propagated.
async fn call_logged(f: &Function, arg: &JsValue, what: &str) {
    let result = match f.call1(&JsValue::UNDEFINED, arg) {
        Ok(v) => settle(v).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        super::log(crate::core::platform::LogLevel::Error, &format!("{what} failed: {}", error_message(&e)));
    }
}

#[allow(clippy::too_many_arguments)]
fn params(name: Option<String>, payload: JsValue, timeout: Option<f64>, label: Option<String>, cancellable: bool, cancel_on_error: bool) -> JobParams<JsValue> {
    JobParams { name, payload: present(payload), timeout, label, cancellable, cancel_on_error }
}

// ----- bus ---------------------------------------------------------------------------------

/// The embedded in-process bus.
#[wasm_bindgen]
pub struct CoreBus {
    bus: Bus<JsValue>,
}

#[wasm_bindgen]
impl CoreBus {
    #[wasm_bindgen(constructor)]
    pub fn new() -> CoreBus {
        CoreBus { bus: Bus::new(env()) }
    }
    #[wasm_bindgen(js_name = subscriberNames)]
    pub fn subscriber_names(&self) -> Array {
        convert::strings(&self.bus.subscriber_names())
    }
    /// `listener(message)` for every message routed through this bus, whatever its target;
    /// returns an id for `unobserve`.
    pub fn observe(&self, listener: Function) -> u32 {
        self.bus.observe(Rc::new(Observer { listener }))
    }
    pub fn unobserve(&self, id: u32) {
        self.bus.unobserve(id);
    }
    /// `sink(description, error)` for every message a link refused.
    #[wasm_bindgen(js_name = setRefusalSink)]
    pub fn set_refusal_sink(&self, sink: Function) {
        self.bus.on_refused(Some(Rc::new(move |message: &crate::core::message::Message<JsValue>, refusal: &Refusal<JsValue>| {
            let text = JsValue::from_str(&format!("a link refused {message}: {}", refusal.message));
            let _ = sink.call2(&JsValue::UNDEFINED, &text, &opt(refusal.cause.clone()));
        })));
    }
    /// Links another realm: `post(message)` carries what has to leave; returns the link's id.
    #[wasm_bindgen(js_name = addLink)]
    pub fn add_link(&self, post: Function) -> u32 {
        self.bus.add_link(Rc::new(JsLink { post }))
    }
    #[wasm_bindgen(js_name = removeLink)]
    pub fn remove_link(&self, id: u32) {
        self.bus.remove_link(id);
    }
    /// Delivers a message object that arrived through link `from`; a malformed one is
    /// dropped, and the reason returned.
    pub fn receive(&self, message: JsValue, from: u32) -> Option<String> {
        match convert::message_from(&message) {
            Ok(m) => {
                self.bus.receive(Rc::new(m), Some(from));
                None
            }
            Err(e) => Some(e),
        }
    }
}

/// A bus observer calling a JS listener with message objects.
struct Observer {
    listener: Function,
}

impl crate::core::bus::Subscriber<JsValue> for Observer {
    fn on_message(self: Rc<Self>, message: &Rc<crate::core::message::Message<JsValue>>) -> crate::core::bus::Handling {
        self.listener.call1(&JsValue::UNDEFINED, &convert::message(message)).map(|_| None).map_err(|e| error_message(&e))
    }
}

/// What a link's thrown error means to the engine: a refusal keeping the error as its cause.
fn refused(e: JsValue) -> Refusal<JsValue> {
    Refusal { message: error_message(&e), cause: Some(e) }
}

/// A link to another realm, as a JS function that posts message objects.
struct JsLink {
    post: Function,
}

impl crate::core::bus::Transport<JsValue> for JsLink {
    fn publish(&self, message: &Rc<crate::core::message::Message<JsValue>>) -> Result<(), Refusal<JsValue>> {
        self.post.call1(&JsValue::UNDEFINED, &convert::message_for_link(message)).map(|_| ()).map_err(refused)
    }
}

impl Default for CoreBus {
    fn default() -> Self {
        Self::new()
    }
}

// ----- job groups (requester side) ------------------------------------------------------------

#[wasm_bindgen]
pub struct CoreGroup {
    group: JobGroup<JsValue>,
    requester: Rc<Requester<JsValue>>,
}

#[wasm_bindgen]
impl CoreGroup {
    #[wasm_bindgen(getter, js_name = jobId)]
    pub fn job_id(&self) -> Option<String> {
        self.group.job_id()
    }
    #[wasm_bindgen(getter, js_name = isDone)]
    pub fn is_done(&self) -> bool {
        self.group.is_done()
    }
    #[wasm_bindgen(getter, js_name = workerNames)]
    pub fn worker_names(&self) -> Array {
        convert::strings(self.group.worker_names())
    }
    #[wasm_bindgen(getter)]
    pub fn label(&self) -> Option<String> {
        self.group.label().map(str::to_string)
    }
    #[wasm_bindgen(getter)]
    pub fn cancellable(&self) -> bool {
        self.group.cancellable()
    }
    #[wasm_bindgen(getter, js_name = cancelOnError)]
    pub fn cancel_on_error(&self) -> bool {
        self.group.cancel_on_error()
    }
    pub fn responses(&self) -> JsValue {
        // Only plain objects are made here: nothing can call back into the group.
        self.group.with_responses(convert::responses)
    }
    #[wasm_bindgen(js_name = responseOf)]
    pub fn response_of(&self, worker: &str) -> JsValue {
        opt(self.group.response_of(worker))
    }
    #[wasm_bindgen(getter, js_name = lastStatus)]
    pub fn last_status(&self) -> Option<String> {
        self.group.last_status().map(|s| s.as_str().to_string())
    }
    /// Waiting for workers, sent, completed or failed (`crate::boundary::GROUP_*`).
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> u8 {
        match self.group.outcome() {
            Some(Outcome::Completed) => boundary::GROUP_COMPLETED,
            Some(Outcome::Failed(_)) => boundary::GROUP_FAILED,
            None if self.group.is_sent() => boundary::GROUP_SENT,
            None => boundary::GROUP_WAITING,
        }
    }
    /// The failure as a plain object, or undefined.
    pub fn failure(&self) -> JsValue {
        match self.group.outcome() {
            Some(Outcome::Failed(f)) => convert::failure(&f, self.group.job_id()),
            _ => JsValue::UNDEFINED,
        }
    }
    /// The next buffered event object, `true` once completed, `false` once failed, or
    /// `undefined` while nothing is there yet.
    #[wasm_bindgen(js_name = nextEvent)]
    pub fn next_event(&self, with_worker: bool) -> JsValue {
        match self.group.next_event() {
            NextEvent::Event(e) => convert::job_event(&e, with_worker),
            NextEvent::Completed => JsValue::TRUE,
            NextEvent::Failed(_) => JsValue::FALSE,
            NextEvent::Pending => JsValue::UNDEFINED,
        }
    }
    /// Everything a settled group still has to tell, in one call:
    /// `[jobId, state, lastStatus, failure, responses, remainingEvents]`.
    pub fn snapshot(&self, with_worker: bool) -> Array {
        let events: Array = std::iter::from_fn(|| match self.group.next_event() {
            NextEvent::Event(e) => Some(convert::job_event(&e, with_worker)),
            _ => None,
        })
        .collect();
        let job_id = opt(self.group.job_id().map(|s| super::recent_id(&s)));
        let last_status = opt(self.group.last_status().map(|s| super::interned(s.as_str())));
        // One call into JavaScript rather than one per element.
        super::array_of6(&job_id, &JsValue::from(self.state()), &last_status, &self.failure(), &self.responses(), &events)
    }
    /// `callback()` runs whenever the group is sent, gets an event or settles; returns an id
    /// for `removeOnChange`.
    #[wasm_bindgen(js_name = addOnChange)]
    pub fn add_on_change(&self, callback: Function) -> f64 {
        self.group.add_on_change(Rc::new(move || {
            let _ = callback.call0(&JsValue::UNDEFINED);
        })) as f64
    }
    #[wasm_bindgen(js_name = removeOnChange)]
    pub fn remove_on_change(&self, id: f64) {
        self.group.remove_on_change(id as u64);
    }
    /// `cause`: what the failure's `cause` is (an abort signal's reason), or undefined.
    pub fn cancel(&self, reason: Option<String>, cause: JsValue) {
        self.requester.cancel_because(&self.group, reason, present(cause));
    }
}

fn core_group(group: JobGroup<JsValue>, requester: Rc<Requester<JsValue>>) -> CoreGroup {
    CoreGroup { group, requester }
}

/// The requester side of a worker or of a runner.
#[wasm_bindgen]
pub struct CoreRequester {
    requester: Rc<Requester<JsValue>>,
}

#[wasm_bindgen]
impl CoreRequester {
    /// Reports every group to a client UI (Pipecat's `BaseUIWorker`).
    #[wasm_bindgen(js_name = setUi)]
    pub fn set_ui(&self, on: bool) {
        self.requester.set_ui(on);
    }
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = startGroup)]
    pub fn start_group(
        &self,
        workers: Vec<String>,
        name: Option<String>,
        payload: JsValue,
        timeout: Option<f64>,
        label: Option<String>,
        cancellable: bool,
        cancel_on_error: bool,
        with_events: bool,
    ) -> Result<CoreGroup, JsValue> {
        let p = params(name, payload, timeout, label, cancellable, cancel_on_error);
        let group = self.requester.start(workers, p, with_events).map_err(to_js)?;
        Ok(core_group(group, self.requester.clone()))
    }
    /// Open (sent, unfinished) groups.
    pub fn groups(&self) -> Vec<CoreGroup> {
        self.requester.groups().into_iter().map(|g| core_group(g, self.requester.clone())).collect()
    }
    #[wasm_bindgen(js_name = cancelGroup)]
    pub fn cancel_group(&self, job_id: &str, reason: Option<String>) -> Result<(), JsValue> {
        self.requester.ensure_attached().map_err(to_js)?;
        self.requester.cancel_group(job_id, reason);
        Ok(())
    }
    /// False for unknown and non-cancellable groups.
    #[wasm_bindgen(js_name = requestCancel)]
    pub fn request_cancel(&self, job_id: &str, reason: Option<String>) -> Result<bool, JsValue> {
        self.requester.ensure_attached().map_err(to_js)?;
        Ok(self.requester.request_cancel(job_id, reason))
    }
}

// ----- registry ------------------------------------------------------------------------------

#[wasm_bindgen]
pub struct CoreRegistry {
    registry: Registry,
    runner: Option<Runner<JsValue>>,
}

#[wasm_bindgen]
impl CoreRegistry {
    /// A registry of its own, not attached to a runner.
    #[wasm_bindgen(constructor)]
    pub fn new(runner_name: &str) -> CoreRegistry {
        CoreRegistry { registry: Registry::new(env(), runner_name), runner: None }
    }
    #[wasm_bindgen(getter, js_name = runnerName)]
    pub fn runner_name(&self) -> String {
        self.registry.runner_name()
    }
    #[wasm_bindgen(getter, js_name = localWorkers)]
    pub fn local_workers(&self) -> Array {
        convert::strings(&self.registry.local_workers())
    }
    #[wasm_bindgen(getter, js_name = remoteWorkers)]
    pub fn remote_workers(&self) -> Array {
        convert::strings(&self.registry.remote_workers())
    }
    pub fn get(&self, name: &str) -> JsValue {
        self.registry.get(name).map(|d| convert::ready_data(&d)).unwrap_or(JsValue::UNDEFINED)
    }
    pub fn has(&self, name: &str) -> bool {
        self.registry.has(name)
    }
    pub fn instances(&self, name: &str) -> Array {
        self.registry.instances(name).iter().map(convert::ready_data).collect()
    }
    /// `sink(kind, data)`: `boundary::REGISTRY_EVENTS[kind]`; ready gives `{ workerName, runner }`,
    /// gone the same with `reason`.
    #[wasm_bindgen(js_name = setEventSink)]
    pub fn set_event_sink(&self, sink: Option<Function>) {
        self.registry.set_event_sink(sink.map(|f| {
            Rc::new(move |e: RegistryEvent| {
                let (kind, data) = match e {
                    RegistryEvent::Ready(d) => (boundary::REGISTRY_READY, convert::ready_data(&d)),
                    RegistryEvent::Gone(d, reason) => {
                        let data = convert::ready_data(&d);
                        super::set(data.unchecked_ref(), "reason", &JsValue::from_str(reason.as_str()));
                        (boundary::REGISTRY_GONE, data)
                    }
                };
                let _ = f.call2(&JsValue::UNDEFINED, &JsValue::from_f64(kind as f64), &data);
            }) as Rc<dyn Fn(RegistryEvent)>
        }));
    }
    /// `key` identifies the handler, so watching twice with the same one does nothing.
    pub fn watch(&self, name: String, key: f64, handler: Function) -> Promise {
        let registry = self.registry.clone();
        let f: WatchFn = Rc::new(move |d: ReadyData| {
            let handler = handler.clone();
            Box::pin(async move { call_logged(&handler, &convert::ready_data(&d), "a registry watcher").await })
        });
        future_to_promise(async move {
            registry.watch(&name, Some(WatchKey::Handler(key as u64)), f).await;
            Ok(JsValue::UNDEFINED)
        })
    }
    pub fn unwatch(&self, name: &str, key: f64) {
        self.registry.unwatch_key(name, WatchKey::Handler(key as u64));
    }
    pub fn register(&self, worker_name: String, runner: String) -> Promise {
        let registry = self.registry.clone();
        future_to_promise(async move { Ok(JsValue::from_bool(registry.register(ReadyData { worker_name, runner }).await)) })
    }
    pub fn entries(&self) -> Array {
        self.runner.as_ref().map(|r| r.entries()).unwrap_or_default().iter().map(convert::registry_entry).collect()
    }
}

// ----- runner ------------------------------------------------------------------------------

#[wasm_bindgen]
pub struct CoreRunner {
    runner: Runner<JsValue>,
}

#[wasm_bindgen]
impl CoreRunner {
    #[wasm_bindgen(constructor)]
    pub fn new(name: Option<String>, bus: &CoreBus) -> Result<CoreRunner, JsValue> {
        let env = env();
        let name = name.unwrap_or_else(|| new_runner_name(&*env));
        Runner::new(env, name, bus.bus.clone()).map(|runner| CoreRunner { runner }).map_err(to_js)
    }
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.runner.name().to_string()
    }
    pub fn registry(&self) -> CoreRegistry {
        CoreRegistry { registry: self.runner.registry().clone(), runner: Some(self.runner.clone()) }
    }
    #[wasm_bindgen(getter, js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.runner.is_finished()
    }
    #[wasm_bindgen(js_name = addWorkers)]
    pub fn add_workers(&self, workers: Vec<CoreWorker>) -> Promise {
        let runner = self.runner.clone();
        let workers = workers.into_iter().map(|w| w.worker).collect();
        future_to_promise(async move { runner.add_workers(workers).await.map(|_| JsValue::UNDEFINED).map_err(to_js) })
    }
    pub fn start(&self, auto_end: bool) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move { runner.start(auto_end).await.map(|_| JsValue::UNDEFINED).map_err(to_js) })
    }
    pub fn finished(&self) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            runner.finished().await;
            Ok(JsValue::UNDEFINED)
        })
    }
    pub fn end(&self, reason: Option<String>, grace_ms: f64) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            runner.end(reason, grace_ms).await;
            Ok(JsValue::UNDEFINED)
        })
    }
    pub fn cancel(&self, reason: Option<String>) -> Promise {
        let runner = self.runner.clone();
        future_to_promise(async move {
            runner.cancel(reason).await;
            Ok(JsValue::UNDEFINED)
        })
    }
    /// `sink(kind, arg)`: `boundary::RUNNER_EVENTS[kind]`; error gives the message.
    #[wasm_bindgen(js_name = setEventSink)]
    pub fn set_event_sink(&self, sink: Option<Function>) {
        self.runner.set_event_sink(sink.map(|f| {
            Rc::new(move |e: RunnerEvent| {
                let (kind, arg) = match e {
                    RunnerEvent::Ready => (boundary::RUNNER_READY, JsValue::UNDEFINED),
                    RunnerEvent::Error(m) => (boundary::RUNNER_ERROR, JsValue::from_str(&m)),
                };
                let _ = f.call2(&JsValue::UNDEFINED, &JsValue::from_f64(kind as f64), &arg);
            }) as Rc<dyn Fn(RunnerEvent)>
        }));
    }
    #[wasm_bindgen(getter)]
    pub fn requester(&self) -> CoreRequester {
        CoreRequester { requester: self.runner.requester().clone() }
    }
    /// Heartbeats every `interval` ms; a runner silent for `misses` of them is gone.
    #[wasm_bindgen(js_name = setLiveness)]
    pub fn set_liveness(&self, interval: f64, misses: u32) {
        self.runner.set_liveness(crate::core::runner::Liveness { interval, misses });
    }
    /// Ms after which a job still waiting for workers that are not ready warns, naming them.
    #[wasm_bindgen(js_name = setNotReadyWarning)]
    pub fn set_not_ready_warning(&self, ms: f64) {
        self.runner.set_not_ready_warning(ms);
    }
    /// Sends the runner's snapshot (a new link was made).
    pub fn announce(&self) {
        self.runner.announce();
    }
    #[wasm_bindgen(js_name = remoteRunnerGone)]
    pub fn remote_runner_gone(&self, name: &str) {
        self.runner.remote_runner_gone(name);
    }
}

// ----- worker ------------------------------------------------------------------------------

/// Makes the façade's `JobRequest` objects of one worker.
type Factory = Rc<std::cell::RefCell<Option<Function>>>;

#[wasm_bindgen]
pub struct CoreWorker {
    worker: Worker<JsValue>,
    factory: Factory,
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
    #[wasm_bindgen(getter, js_name = isAttached)]
    pub fn is_attached(&self) -> bool {
        self.worker.is_attached()
    }
    #[wasm_bindgen(getter, js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.worker.is_finished()
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
        *self.factory.borrow_mut() = Some(factory);
    }

    #[wasm_bindgen(js_name = onJob)]
    pub fn on_job(&self, job_name: Option<String>, handler: Function, sequential: bool) -> Result<(), JsValue> {
        let factory = self.factory.clone();
        let h: JobHandler<JsValue> = Rc::new(move |req: JobRequest<JsValue>| {
            let returned = handler.call1(&JsValue::UNDEFINED, &host_request(&factory, &req));
            Box::pin(async move {
                let thrown = |e: JsValue| Thrown { message: error_message(&e), value: Some(e) };
                match returned {
                    Ok(v) => settle(v).await.map(Some).map_err(thrown), // the engine drops a nullish answer
                    Err(e) => Err(thrown(e)),
                }
            })
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
    let made = make.call4(&JsValue::UNDEFINED, &super::recent_id(&request.id), &name, &payload, &super::interned(&request.source));
    let Ok(object) = made else { return JsValue::UNDEFINED };
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
