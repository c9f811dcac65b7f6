//! `CoreRequester`: the requester side of a worker or of a runner.

use super::shared::*;
use super::group::{core_group, CoreGroup};
use crate::core::job::{JobParams, Requester};

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
        let group = self.requester.start(workers, p, with_events).map_err(to_js)?;
        Ok(core_group(group, self.requester.clone()))
    }
    /// `startGroup` for a job to one worker: its name crosses as one string, not an array.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = startJob)]
    pub fn start_job(
        &self,
        worker: String,
        name: Option<String>,
        payload: JsValue,
        timeout: Option<f64>,
        label: Option<String>,
        cancellable: bool,
        cancel_on_error: bool,
        retries: u32,
    ) -> Result<CoreGroup, JsValue> {
        self.start_group(vec![worker], name, payload, timeout, label, cancellable, cancel_on_error, retries, true)
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
