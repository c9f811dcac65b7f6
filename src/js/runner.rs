//! `CoreRunner`: a runner, its workers and its events.

use super::shared::*;
use super::bus::CoreBus;
use super::registry::CoreRegistry;
use super::requester::CoreRequester;
use super::worker::CoreWorker;
use super::env;
use crate::boundary;
use crate::core::platform::new_runner_name;
use crate::core::runner::{Runner, RunnerEvent};
use js_sys::{Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct CoreRunner {
    pub(super) runner: Runner<JsValue>,
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
