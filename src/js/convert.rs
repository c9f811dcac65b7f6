//! Engine values as plain JavaScript objects (camelCase fields, Pipecat's type names).

use super::{get, interned, opt, opt_str, recent_id_text, set};
use crate::core::job::{JobEvent, JobFailure};
use crate::core::message::{Body, FrameDirection, Message, SharedStr};
use crate::wire::fields::{camel_case, read_body, read_entry, read_route, write_body, write_entry, write_route, FieldReader, FieldWriter};
use crate::core::registry::{ReadyData, RegistryEntry};
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

fn num_or_null(v: Option<f64>) -> JsValue {
    v.map(JsValue::from_f64).unwrap_or(JsValue::NULL)
}

pub fn ready_data(d: &ReadyData) -> JsValue {
    let o = Object::new();
    set(&o, "workerName", &JsValue::from_str(&d.worker_name));
    set(&o, "runner", &JsValue::from_str(&d.runner));
    o.into()
}

pub fn registry_entry(e: &RegistryEntry) -> JsValue {
    let mut w = ObjectWriter(Object::new());
    write_entry::<JsValue>(e, &mut w);
    w.0.into()
}

pub fn responses(list: &[(SharedStr, JsValue)]) -> JsValue {
    let o = Object::new();
    for (name, v) in list {
        set(&o, name, v);
    }
    o.into()
}

pub fn strings(list: &[impl AsRef<str>]) -> Array {
    list.iter().map(|s| JsValue::from_str(s.as_ref())).collect()
}

thread_local! {
    /// `factory(kind, data, workerName)`: the façade's object for a job event (see
    /// [`set_event_factory`]).
    static EVENT_FACTORY: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// Has the façade build job event objects: one call with the kind's number (its index in
/// `JobEventKind::ALL`) instead of an object filled in key by key across the boundary.
/// `workerName` is undefined for a single job's context, whose events have no such key.
#[wasm_bindgen(js_name = setEventFactory)]
pub fn set_event_factory(factory: js_sys::Function) {
    EVENT_FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

pub fn job_event(e: &JobEvent<JsValue>, with_worker: bool) -> JsValue {
    let made = EVENT_FACTORY.with(|f| {
        let f = f.borrow();
        let f = f.as_ref()?;
        let kind = JsValue::from_f64(e.kind as u8 as f64);
        let worker = if with_worker { interned(e.worker_name()) } else { JsValue::UNDEFINED };
        f.call3(&JsValue::UNDEFINED, &kind, e.data().unwrap_or(&JsValue::UNDEFINED), &worker).ok()
    });
    if let Some(made) = made {
        return made;
    }
    let o = Object::new();
    set(&o, "type", &JsValue::from_str(e.kind.as_str()));
    set(&o, "data", e.data().unwrap_or(&JsValue::UNDEFINED));
    if with_worker {
        set(&o, "workerName", &JsValue::from_str(e.worker_name()));
    }
    o.into()
}

pub fn failure(f: &JobFailure<JsValue>, job_id: Option<SharedStr>) -> JsValue {
    let o = Object::new();
    set(&o, "reason", &JsValue::from_str(&f.reason));
    set(&o, "notReady", &JsValue::from_bool(f.not_ready));
    set(&o, "jobId", &opt(job_id.map(|s| JsValue::from_str(&s))));
    set(&o, "workerName", &opt(f.worker_name.as_deref().map(JsValue::from_str)));
    set(&o, "status", &opt(f.status.map(|s| JsValue::from_str(s.as_str()))));
    set(&o, "response", &opt(f.response.clone()));
    set(&o, "responses", &responses(&f.responses));
    set(&o, "cause", &opt(f.cause.clone()));
    o.into()
}

/// A thrown value as it crosses a structured-clone link: `{ name, message, stack }`, so that
/// the other side rebuilds an `Error` with the same three (a clone would lose a custom name).
fn cause_description(cause: &JsValue) -> JsValue {
    let o = Object::new();
    let name = get(cause, "name").as_string().unwrap_or_else(|| "Error".to_string());
    set(&o, "name", &JsValue::from_str(&name));
    set(&o, "message", &JsValue::from_str(&super::error_message(cause)));
    let stack = get(cause, "stack");
    if stack.is_string() {
        set(&o, "stack", &stack);
    }
    o.into()
}

/// The `Error` a cause description stands for.
fn cause_from(description: &JsValue) -> Option<JsValue> {
    let message = get(description, "message").as_string()?;
    let error: JsValue = js_sys::Error::new(&message).into();
    let error_object: &Object = error.unchecked_ref();
    if let Some(name) = get(description, "name").as_string() {
        set(error_object, "name", &JsValue::from_str(&name));
    }
    let stack = get(description, "stack");
    if stack.is_string() {
        set(error_object, "stack", &stack);
    }
    Some(error)
}

/// A message object for a structured-clone link: as `message()`, plus the description of the
/// thrown value that caused an error answer.
pub fn message_for_link(m: &Message<JsValue>) -> JsValue {
    let o = message(m);
    if let Some(cause) = &m.cause {
        set(o.unchecked_ref(), "cause", &cause_description(cause));
    }
    o
}

thread_local! {
    /// The camelCase property name of each field key (`job_id` → `jobId`), made once per realm.
    static FIELD_NAMES: std::cell::RefCell<crate::core::hash::HashMap<String, JsValue>> = std::cell::RefCell::new(Default::default());
}

/// `key`'s property name as a JavaScript string. Field keys are the wire schema's few names: a
/// message's dozen fields cost a lookup each, not a conversion and a string each.
fn field_name(key: &str) -> JsValue {
    FIELD_NAMES.with(|names| {
        if let Some(name) = names.borrow().get(key) {
            return name.clone();
        }
        let name = JsValue::from_str(&camel_case(key));
        names.borrow_mut().insert(key.to_owned(), name.clone());
        name
    })
}

fn set_field(o: &Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(o, &field_name(key), value);
}

/// Message objects as JavaScript sees them: camelCase keys, milliseconds, values as they are.
struct ObjectWriter(Object);

impl FieldWriter<JsValue> for ObjectWriter {
    fn string(&mut self, key: &str, value: Option<&str>) {
        // Fields whose values come from a small set (statuses, job and worker names) are
        // interned; ids and free text are not.
        let recurring = matches!(key, "status" | "job_name" | "worker_name" | "runner" | "parent" | "target_runner" | "source_runner");
        let value = match value {
            Some(v) if recurring => interned(v),
            Some(v) if key == "job_id" => recent_id_text(v),
            _ => opt_str(value),
        };
        set_field(&self.0, key, &value);
    }
    fn boolean(&mut self, key: &str, value: bool) {
        set_field(&self.0, key, &JsValue::from_bool(value));
    }
    fn number(&mut self, key: &str, value: f64) {
        set_field(&self.0, key, &JsValue::from_f64(value));
    }
    fn time(&mut self, key: &str, ms: Option<f64>) {
        set_field(&self.0, key, &num_or_null(ms));
    }
    fn value(&mut self, key: &str, value: Option<&JsValue>) -> Result<(), String> {
        set_field(&self.0, key, value.unwrap_or(&JsValue::NULL));
        Ok(())
    }
    fn strings(&mut self, key: &str, value: Option<&[String]>) {
        set_field(&self.0, key, &value.map(|v| strings(v).into()).unwrap_or(JsValue::NULL));
    }
    fn entries(&mut self, key: &str, value: &[RegistryEntry]) {
        set_field(&self.0, key, &value.iter().map(registry_entry).collect::<Array>());
    }
    fn direction(&mut self, key: &str, value: FrameDirection) {
        set_field(&self.0, key, &JsValue::from_str(value.as_str()));
    }
}

/// A bus message as listeners see it: `{ type, source, target, ...fields }`.
pub fn message(m: &Message<JsValue>) -> JsValue {
    let o = Object::new();
    // Type and worker names recur on every message: made into JS strings once.
    set(&o, "type", &interned(m.type_name()));
    set(&o, "source", &interned(&m.source));
    set(&o, "target", &m.target.as_deref().map(interned).unwrap_or(JsValue::NULL));
    let mut w = ObjectWriter(o);
    // Pool routing, only on the messages that have it.
    if m.target_runner.is_some() || m.source_runner.is_some() {
        write_route(m, &mut w);
    }
    match &m.body {
        // Shown to local listeners only; it never leaves the realm.
        Body::AddWorker { worker } => set(&w.0, "worker", &JsValue::from_str(worker)),
        Body::WorkerLocalError { error } => set(&w.0, "error", &JsValue::from_str(error)),
        body => {
            let _ = write_body(body, &mut w);
        }
    }
    w.0.into()
}

// ----- messages arriving from another realm (structured clones) ------------------------------

struct ObjectReader<'a>(&'a JsValue);

impl ObjectReader<'_> {
    fn field(&self, key: &str) -> Option<JsValue> {
        let v = if self.0.is_object() { js_sys::Reflect::get(self.0, &field_name(key)).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
        (!v.is_null_or_undefined()).then_some(v)
    }
}

impl FieldReader<JsValue> for ObjectReader<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, String> {
        self.field(key).map(|v| v.as_string().ok_or_else(|| format!("'{}' must be a string", camel_case(key)))).transpose()
    }
    fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        self.field(key).map(|v| v.as_bool().ok_or_else(|| format!("'{}' must be a boolean", camel_case(key)))).transpose()
    }
    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        self.field(key).map(|v| v.as_f64().filter(|n| n.is_finite()).ok_or_else(|| format!("'{}' must be a finite number", camel_case(key)))).transpose()
    }
    fn time(&self, key: &str) -> Result<Option<f64>, String> {
        self.number(key)
    }
    fn value(&self, key: &str) -> Option<JsValue> {
        self.field(key)
    }
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        let Some(list) = self.field(key) else { return Ok(None) };
        let bad = || format!("'{}' must be an array of strings", camel_case(key));
        if !Array::is_array(&list) {
            return Err(bad());
        }
        Array::from(&list).iter().map(|w| w.as_string().ok_or_else(bad)).collect::<Result<_, _>>().map(Some)
    }
    fn entries(&self, key: &str) -> Result<Option<Vec<RegistryEntry>>, String> {
        let Some(list) = self.field(key) else { return Ok(None) };
        if !Array::is_array(&list) {
            return Err(format!("'{key}' must be an array"));
        }
        Array::from(&list)
            .iter()
            .map(|e| {
                if !e.is_object() {
                    return Err(format!("each of '{key}' must be an object"));
                }
                read_entry::<JsValue>(&ObjectReader(&e))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
    fn direction(&self, key: &str) -> Result<Option<FrameDirection>, String> {
        match self.string(key)? {
            None => Ok(None),
            Some(d) => FrameDirection::parse(&d).map(Some).ok_or_else(|| format!("unknown frame direction '{d}'")),
        }
    }
}

/// Reads a message object as `message()` writes it. Anything else is an error naming the
/// problem; local-only types cannot come from another realm.
pub fn message_from(obj: &JsValue) -> Result<Message<JsValue>, String> {
    if !obj.is_object() || Array::is_array(obj) {
        return Err("a bus message must be an object".into());
    }
    let r = ObjectReader(obj);
    let kind = r.string("type")?.ok_or("'type' is missing")?;
    let body = read_body(&kind, &r)?.ok_or_else(|| format!("unknown message type '{kind}'"))?;
    let cause = if matches!(body, Body::JobResponse { .. }) { r.field("cause").as_ref().and_then(cause_from) } else { None };
    let source = r.string("source")?.ok_or("'source' is missing")?;
    let message = Message::new(SharedStr::interned(&source), r.string("target")?.map(|t| SharedStr::interned(&t)), body).with_cause(cause);
    read_route(message, &r)
}
