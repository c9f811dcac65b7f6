//! `CoreRequester`: the requester side of a worker or of a runner.

use super::shared::*;
use super::group::{core_group, keyed, CoreGroup};
use crate::core::job::{JobParams, Requester};
use crate::core::message::SharedStr;

use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The requester side of a worker or of a runner.
#[wasm_bindgen]
pub struct CoreRequester {
    pub(super) requester: Rc<Requester<JsValue>>,
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
        retries: u32,
        with_events: bool,
    ) -> Result<CoreGroup, JsValue> {
        let p = JobParams { name, payload: present(payload), timeout, label, cancellable, cancel_on_error, retries };
        let workers = workers.iter().map(|w| SharedStr::interned(w)).collect();
        let group = self.requester.start(workers, p, with_events).map_err(to_js)?;
        Ok(core_group(group, self.requester.clone()))
    }
    /// Starts a group for a context that is told of it through the context hook (see
    /// [`super::group::keyed`]); returns the group's key. `worker` is a string (a job) or an
    /// array of names (a group: events and responses by worker).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = startFor)]
    pub fn start_for(
        &self,
        workers: JsValue,
        name: Option<String>,
        payload: JsValue,
        timeout: Option<f64>,
        label: Option<String>,
        cancellable: bool,
        cancel_on_error: bool,
        retries: u32,
        context: JsValue,
    ) -> Result<u32, JsValue> {
        // A job's one name crosses as a string, not as an array.
        let (names, is_group) = match workers.as_string() {
            Some(worker) => (vec![SharedStr::interned(&worker)], false),
            None => (js_sys::Array::from(&workers).iter().map(|n| SharedStr::interned(&n.as_string().unwrap_or_default())).collect(), true),
        };
        let p = JobParams { name, payload: present(payload), timeout, label, cancellable, cancel_on_error, retries };
        let group = self.requester.start(names, p, true).map_err(to_js)?;
        Ok(keyed(group, self.requester.clone(), context, is_group))
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
