//! `CoreRegistry`: the worker registry, alone or attached to a runner.

use super::shared::*;
use super::convert;
use super::env;
use crate::boundary;
use crate::core::registry::{ReadyData, Registry, RegistryEvent, WatchFn, WatchKey};
use crate::core::runner::Runner;
use js_sys::{Array, Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct CoreRegistry {
    pub(super) registry: Registry,
    pub(super) runner: Option<Runner<JsValue>>,
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
    /// Every instance of `name`, each with `pending`: this runner's jobs pending on it.
    pub fn instances(&self, name: &str) -> Array {
        let instance = |d: &ReadyData| {
            let o = convert::ready_data(d);
            super::set(o.unchecked_ref(), "pending", &JsValue::from(self.registry.pending(name, &d.runner)));
            o
        };
        self.registry.instances(name).iter().map(instance).collect()
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
