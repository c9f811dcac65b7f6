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
        self.group.job_id().map(String::from)
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
        let [a, b, c, d, e, f] = settled_values(&self.group, with_worker, false);
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
                let [a, b, c, d, e, f] = settled_values(group, with_worker, false);
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
///
/// `by_order`: a group's responses are left for `takeResponseOrder` and `takeResponseValues`
/// instead (`responses` is null): its context knows the names, and builds the object itself.
fn settled_values(group: &JobGroup<JsValue>, with_worker: bool, by_order: bool) -> [JsValue; 6] {
    let mut events: Option<Array> = None;
    while let NextEvent::Event(e) = group.next_event() {
        events.get_or_insert_with(Array::new).push(&convert::job_event(&e, with_worker));
    }
    let job_id = group.job_id();
    let job_id = opt(job_id.map(|s| super::recent_id(&s)));
    let last_status = opt(group.last_status().map(|s| super::interned(s.as_str())));
    let (state, failure) = (group_state(group), group_failure(group));
    let responses = if with_worker && by_order {
        group.with_responses(|list| {
            let at: crate::core::hash::HashMap<&str, u32> = group.worker_names().iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
            RESPONSES.with(|r| {
                let (order, values) = &mut *r.borrow_mut();
                order.clear();
                values.clear();
                for (name, v) in list {
                    order.push(at.get(name.as_str()).copied().unwrap_or(u32::MAX));
                    values.push(v.clone());
                }
            })
        });
        JsValue::NULL
    } else if with_worker {
        group.with_responses(convert::responses)
    } else {
        group.with_responses(|list| opt(list.first().map(|(_, v)| v.clone())))
    };
    [job_id, JsValue::from(state), last_status, failure, responses, opt(events.map(JsValue::from))]
}

thread_local! {
    /// A settled group's responses, for its context to take: each one's member (its index in
    /// the group's names) and value, in the order they came.
    static RESPONSES: std::cell::RefCell<(Vec<u32>, Vec<JsValue>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Which member gave each response the context hook was just told of (see [`settled_values`]).
/// Two arrays cross in two calls: a responses object filled from here would cost a call per
/// member.
#[wasm_bindgen(js_name = takeResponseOrder)]
pub fn take_response_order() -> Vec<u32> {
    RESPONSES.with(|r| std::mem::take(&mut r.borrow_mut().0))
}

/// The responses the context hook was just told of, in the order of `takeResponseOrder`.
#[wasm_bindgen(js_name = takeResponseValues)]
pub fn take_response_values() -> Vec<JsValue> {
    RESPONSES.with(|r| std::mem::take(&mut r.borrow_mut().1))
}

thread_local! {
    /// The groups whose contexts are told of them by a listener ([`keyed`]), by key, until they
    /// settle: then the listener has been handed everything. No JavaScript object stands for
    /// them, so none is registered for finalization (that costs more than the rest of a job's
    /// bookkeeping in JavaScript).
    static KEYED: std::cell::RefCell<Keyed> = std::cell::RefCell::new(Keyed::default());
}

#[derive(Default)]
struct Keyed {
    slots: Vec<Option<CoreGroup>>,
    free: Vec<u32>,
}

thread_local! {
    /// `hook(context, ...news)` and `eventHook(context, kind, data, workerName)`: how a keyed
    /// group's context is told (see [`keyed`]).
    /// Shared, so that a call takes them without cloning a JavaScript reference.
    static CONTEXT_HOOKS: std::cell::RefCell<Option<Rc<(Function, Function)>>> = const { std::cell::RefCell::new(None) };
}

/// Sets how the contexts of keyed groups are told of them (once, at load): functions for all,
/// rather than closures made for each job.
#[wasm_bindgen(js_name = setContextHook)]
pub fn set_context_hook(hook: Function, event_hook: Function) {
    CONTEXT_HOOKS.with(|h| *h.borrow_mut() = Some(Rc::new((hook, event_hook))));
}

/// Keeps `group` under a new key and tells `context` of it through the context hooks:
/// `(state)` when its state changes (sent), each event as it comes through the event hook
/// (taken from the group: the context keeps it, so an event crosses once), and what
/// [`settled_values`] gives once it settles, when the key is released (at once if it is
/// settled already).
pub(super) fn keyed(group: JobGroup<JsValue>, requester: Rc<Requester<JsValue>>, context: JsValue, with_worker: bool) -> u32 {
    let entry = Some(CoreGroup { group: group.clone(), requester });
    let key = KEYED.with(|k| {
        let mut k = k.borrow_mut();
        match k.free.pop() {
            Some(key) => {
                k.slots[key as usize] = entry;
                key
            }
            None => {
                k.slots.push(entry);
                (k.slots.len() - 1) as u32
            }
        }
    });
    let told = std::cell::Cell::new(boundary::GROUP_WAITING);
    let tell = Rc::new(move |g: &JobGroup<JsValue>| {
        let state = group_state(g);
        if told.get() >= boundary::GROUP_COMPLETED {
            return;
        }
        let (this, context) = (JsValue::UNDEFINED, &context);
        // The façade sets the hooks before it starts a keyed group.
        let hooks = CONTEXT_HOOKS.with(|h| h.borrow().clone());
        let Some(hooks) = hooks else { return };
        let (listener, event_listener) = &*hooks;
        // Before a settling: the events came first.
        while let NextEvent::Event(e) = g.next_event() {
            let worker = if with_worker { super::interned(e.worker_name()) } else { JsValue::UNDEFINED };
            let kind = JsValue::from_f64(e.kind as u8 as f64);
            let _ = event_listener.call4(&this, context, &kind, e.data().unwrap_or(&JsValue::UNDEFINED), &worker);
        }
        let _ = if state >= boundary::GROUP_COMPLETED {
            told.set(state);
            KEYED.with(|k| {
                let mut k = k.borrow_mut();
                k.slots[key as usize] = None;
                k.free.push(key);
            });
            let [a, b, c, d, e, f] = settled_values(g, with_worker, true);
            listener.call7(&this, context, &a, &b, &c, &d, &e, &f)
        } else if told.replace(state) != state {
            listener.call2(&this, context, &JsValue::from(state))
        } else {
            Ok(JsValue::UNDEFINED)
        };
    });
    group.add_on_change(tell.clone());
    if group.is_done() {
        tell(&group);
    }
    key
}

/// A handle on a keyed group, for what its context asks rarely (cancel, events, a failure
/// before it settles); undefined once the group has settled.
#[wasm_bindgen(js_name = keyedGroup)]
pub fn keyed_group(key: u32) -> Option<CoreGroup> {
    KEYED.with(|k| k.borrow().slots.get(key as usize).and_then(Option::as_ref).map(|g| CoreGroup { group: g.group.clone(), requester: g.requester.clone() }))
}

pub(super) fn core_group(group: JobGroup<JsValue>, requester: Rc<Requester<JsValue>>) -> CoreGroup {
    CoreGroup { group, requester }
}
