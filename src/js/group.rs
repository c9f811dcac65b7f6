//! `CoreGroup`: a job group on the requester side.

use super::shared::*;
use super::convert;
use super::opt;
use crate::boundary;
use crate::core::job::{JobGroup, NextEvent, Outcome, Requester};
use js_sys::{Array, Function};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct CoreGroup {
    pub(super) group: JobGroup<JsValue>,
    pub(super) requester: Rc<Requester<JsValue>>,
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
        group_state(&self.group)
    }
    /// The failure as a plain object, or undefined.
    pub fn failure(&self) -> JsValue {
        group_failure(&self.group)
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
    /// Everything a settled group still has to tell, in one call (see [`settled_values`]).
    pub fn snapshot(&self, with_worker: bool) -> Array {
        let [a, b, c, d, e, f] = settled_values(&self.group, with_worker);
        // One call into JavaScript rather than one per element.
        super::array_of6(&a, &b, &c, &d, &e, &f)
    }
    /// `callback()` runs whenever the group is sent or gets an event; once it settles, a
    /// `snapshot` listener gets what [`settled_values`] gives as its arguments instead (the
    /// group's buffered events move to it), so that its context needs no more calls. Returns
    /// an id for `removeOnChange`.
    #[wasm_bindgen(js_name = addOnChange)]
    pub fn add_on_change(&self, callback: Function, snapshot: bool, with_worker: bool) -> f64 {
        self.group.add_on_change(Rc::new(move |group: &JobGroup<JsValue>| {
            let _ = if snapshot && group.is_done() {
                let [a, b, c, d, e, f] = settled_values(group, with_worker);
                callback.call6(&JsValue::UNDEFINED, &a, &b, &c, &d, &e, &f)
            } else {
                callback.call0(&JsValue::UNDEFINED)
            };
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

fn group_state(group: &JobGroup<JsValue>) -> u8 {
    match group.outcome() {
        Some(Outcome::Completed) => boundary::GROUP_COMPLETED,
        Some(Outcome::Failed(_)) => boundary::GROUP_FAILED,
        None if group.is_sent() => boundary::GROUP_SENT,
        None => boundary::GROUP_WAITING,
    }
}

fn group_failure(group: &JobGroup<JsValue>) -> JsValue {
    match group.outcome() {
        Some(Outcome::Failed(f)) => convert::failure(&f, group.job_id()),
        _ => JsValue::UNDEFINED,
    }
}

/// `[jobId, state, lastStatus, failure, responses, remainingEvents]` of a settled group, taking
/// its buffered events. `responses` is the responses object of a group (`with_worker`), and the
/// one member's response of a job (its context knows the name); `remainingEvents` is undefined
/// when there are none.
fn settled_values(group: &JobGroup<JsValue>, with_worker: bool) -> [JsValue; 6] {
    let mut events: Option<Array> = None;
    while let NextEvent::Event(e) = group.next_event() {
        events.get_or_insert_with(Array::new).push(&convert::job_event(&e, with_worker));
    }
    let job_id = group.job_id();
    let job_id = opt(job_id.map(|s| super::recent_id(&s)));
    let last_status = opt(group.last_status().map(|s| super::interned(s.as_str())));
    let (state, failure) = (group_state(group), group_failure(group));
    let responses = if with_worker {
        group.with_responses(convert::responses)
    } else {
        group.with_responses(|list| opt(list.first().map(|(_, v)| v.clone())))
    };
    [job_id, JsValue::from(state), last_status, failure, responses, opt(events.map(JsValue::from))]
}

pub(super) fn core_group(group: JobGroup<JsValue>, requester: Rc<Requester<JsValue>>) -> CoreGroup {
    CoreGroup { group, requester }
}
