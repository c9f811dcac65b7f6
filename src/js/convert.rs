//! Engine values as plain JavaScript objects (camelCase fields, Pipecat's type names).

use super::{opt, opt_str, set};
use crate::core::job::{JobEvent, JobFailure};
use crate::core::message::{Body, Message};
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
    let o = Object::new();
    set(&o, "name", &JsValue::from_str(&e.name));
    set(&o, "parent", &opt_str(e.parent.as_deref()));
    set(&o, "active", &JsValue::from_bool(e.active));
    set(&o, "bridged", &JsValue::from_bool(e.bridged));
    set(&o, "startedAt", &num_or_null(e.started_at));
    o.into()
}

pub fn responses(list: &[(String, JsValue)]) -> JsValue {
    let o = Object::new();
    for (name, v) in list {
        set(&o, name, v);
    }
    o.into()
}

pub fn strings(list: &[String]) -> Array {
    list.iter().map(|s| JsValue::from_str(s)).collect()
}

pub fn job_event(e: &JobEvent<JsValue>, with_worker: bool) -> JsValue {
    let o = Object::new();
    set(&o, "type", &JsValue::from_str(e.kind.as_str()));
    set(&o, "data", &opt(e.data.clone()));
    if with_worker {
        set(&o, "workerName", &JsValue::from_str(&e.worker_name));
    }
    o.into()
}

pub fn failure(f: &JobFailure<JsValue>, job_id: Option<String>) -> JsValue {
    let o = Object::new();
    set(&o, "reason", &JsValue::from_str(&f.reason));
    set(&o, "notReady", &JsValue::from_bool(f.not_ready));
    set(&o, "jobId", &opt(job_id.map(|s| JsValue::from_str(&s))));
    set(&o, "workerName", &opt(f.worker_name.as_deref().map(JsValue::from_str)));
    set(&o, "status", &opt(f.status.map(|s| JsValue::from_str(s.as_str()))));
    set(&o, "response", &opt(f.response.clone()));
    set(&o, "responses", &responses(&f.responses));
    o.into()
}

/// A bus message as listeners see it: `{ type, source, target, ...fields }`.
pub fn message(m: &Message<JsValue>) -> JsValue {
    let o = Object::new();
    set(&o, "type", &JsValue::from_str(m.type_name()));
    set(&o, "source", &JsValue::from_str(&m.source));
    set(&o, "target", &opt_str(m.target.as_deref()));
    let s = |k: &str, v: &str| set(&o, k, &JsValue::from_str(v));
    let os = |k: &str, v: &Option<String>| set(&o, k, &opt_str(v.as_deref()));
    let v = |k: &str, v: &Option<JsValue>| set(&o, k, &v.clone().unwrap_or(JsValue::NULL));
    let b = |k: &str, v: bool| set(&o, k, &JsValue::from_bool(v));
    let n = |k: &str, v: f64| set(&o, k, &JsValue::from_f64(v));
    use Body::*;
    match &m.body {
        Data | System | DeactivateWorker => {}
        Frame { frame, direction, bridge } => {
            set(&o, "frame", frame);
            s("direction", direction.as_str());
            os("bridge", bridge);
        }
        TtsSpeak { text, append_to_context } => {
            s("text", text);
            b("appendToContext", *append_to_context);
        }
        FlushProgress { flush_id } => n("flushId", *flush_id),
        ActivateWorker { args } => v("args", args),
        End { reason } | EndWorker { reason } | Cancel { reason } | CancelWorker { reason } => os("reason", reason),
        AddWorker { worker } => s("worker", worker.name()),
        WorkerRegistry { runner, workers } => {
            s("runner", runner);
            set(&o, "workers", &workers.iter().map(registry_entry).collect::<Array>());
        }
        WorkerReady { runner, parent, active, bridged, started_at } => {
            s("runner", runner);
            os("parent", parent);
            b("active", *active);
            b("bridged", *bridged);
            set(&o, "startedAt", &num_or_null(*started_at));
        }
        WorkerError { error } | WorkerLocalError { error } => s("error", error),
        JobRequest { job_id, job_name, payload } => {
            s("jobId", job_id);
            os("jobName", job_name);
            v("payload", payload);
        }
        JobResponse { job_id, status, response, .. } => {
            s("jobId", job_id);
            s("status", status.as_str());
            v("response", response);
        }
        JobUpdate { job_id, update, .. } => {
            s("jobId", job_id);
            v("update", update);
        }
        JobUpdateRequest { job_id } => s("jobId", job_id),
        JobCancel { job_id, reason } => {
            s("jobId", job_id);
            os("reason", reason);
        }
        JobStreamStart { job_id, data } | JobStreamData { job_id, data } | JobStreamEnd { job_id, data } => {
            s("jobId", job_id);
            v("data", data);
        }
        UiEvent { event_name, payload } => {
            s("eventName", event_name);
            v("payload", payload);
        }
        UiCommand { command_name, payload } => {
            s("commandName", command_name);
            v("payload", payload);
        }
        UiJobGroupStarted { job_id, workers, label, cancellable, at } => {
            s("jobId", job_id);
            set(&o, "workers", &workers.as_ref().map(|w| strings(w).into()).unwrap_or(JsValue::NULL));
            os("label", label);
            b("cancellable", *cancellable);
            n("at", *at);
        }
        UiJobUpdate { job_id, worker_name, data, at } => {
            s("jobId", job_id);
            s("workerName", worker_name);
            v("data", data);
            n("at", *at);
        }
        UiJobCompleted { job_id, worker_name, status, response, at } => {
            s("jobId", job_id);
            s("workerName", worker_name);
            s("status", status);
            v("response", response);
            n("at", *at);
        }
        UiJobGroupCompleted { job_id, at } => {
            s("jobId", job_id);
            n("at", *at);
        }
    }
    o.into()
}

// ----- messages arriving from another realm (structured clones) ------------------------------

fn field(obj: &JsValue, key: &str) -> JsValue {
    super::get(obj, key)
}

fn string(obj: &JsValue, key: &str) -> Result<String, String> {
    field(obj, key).as_string().ok_or_else(|| format!("'{key}' must be a string"))
}

fn optional_string(obj: &JsValue, key: &str) -> Result<Option<String>, String> {
    let v = field(obj, key);
    if v.is_null() || v.is_undefined() {
        Ok(None)
    } else {
        v.as_string().map(Some).ok_or_else(|| format!("'{key}' must be a string or null"))
    }
}

fn optional_value(obj: &JsValue, key: &str) -> Option<JsValue> {
    let v = field(obj, key);
    (!v.is_null() && !v.is_undefined()).then_some(v)
}

fn boolean(obj: &JsValue, key: &str, default: bool) -> Result<bool, String> {
    let v = field(obj, key);
    if v.is_undefined() || v.is_null() {
        Ok(default)
    } else {
        v.as_bool().ok_or_else(|| format!("'{key}' must be a boolean"))
    }
}

fn number(obj: &JsValue, key: &str) -> Result<Option<f64>, String> {
    let v = field(obj, key);
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        v.as_f64().filter(|n| n.is_finite()).map(Some).ok_or_else(|| format!("'{key}' must be a finite number"))
    }
}

fn entries(obj: &JsValue) -> Result<Vec<RegistryEntry>, String> {
    let list = field(obj, "workers");
    if !Array::is_array(&list) {
        return Err("'workers' must be an array".into());
    }
    Array::from(&list)
        .iter()
        .map(|e| {
            if !e.is_object() {
                return Err("each of 'workers' must be an object".to_string());
            }
            Ok(RegistryEntry {
                name: string(&e, "name")?,
                parent: optional_string(&e, "parent")?,
                active: boolean(&e, "active", false)?,
                bridged: boolean(&e, "bridged", false)?,
                started_at: number(&e, "startedAt")?,
            })
        })
        .collect()
}

/// Reads a message object as `message()` writes it. Anything else is an error naming the
/// problem; local-only types cannot come from another realm.
pub fn message_from(obj: &JsValue) -> Result<Message<JsValue>, String> {
    if !obj.is_object() || Array::is_array(obj) {
        return Err("a bus message must be an object".into());
    }
    let kind = string(obj, "type")?;
    let job_id = || string(obj, "jobId");
    let status = || {
        let s = string(obj, "status")?;
        crate::core::message::JobStatus::parse(&s).ok_or_else(|| format!("unknown job status '{s}'"))
    };
    use Body::*;
    let body = match kind.as_str() {
        "BusDataMessage" => Data,
        "BusSystemMessage" => System,
        "BusFrameMessage" => {
            let direction = string(obj, "direction")?;
            Frame {
                frame: field(obj, "frame"),
                direction: crate::core::message::FrameDirection::parse(&direction).ok_or_else(|| format!("unknown frame direction '{direction}'"))?,
                bridge: optional_string(obj, "bridge")?,
            }
        }
        "BusTTSSpeakMessage" => TtsSpeak { text: string(obj, "text")?, append_to_context: boolean(obj, "appendToContext", true)? },
        "BusFlushProgressMessage" => FlushProgress { flush_id: number(obj, "flushId")?.ok_or("'flushId' must be a number")? },
        "BusActivateWorkerMessage" => ActivateWorker { args: optional_value(obj, "args") },
        "BusDeactivateWorkerMessage" => DeactivateWorker,
        "BusEndMessage" => End { reason: optional_string(obj, "reason")? },
        "BusEndWorkerMessage" => EndWorker { reason: optional_string(obj, "reason")? },
        "BusCancelMessage" => Cancel { reason: optional_string(obj, "reason")? },
        "BusCancelWorkerMessage" => CancelWorker { reason: optional_string(obj, "reason")? },
        "BusWorkerRegistryMessage" => WorkerRegistry { runner: string(obj, "runner")?, workers: entries(obj)? },
        "BusWorkerReadyMessage" => WorkerReady {
            runner: string(obj, "runner")?,
            parent: optional_string(obj, "parent")?,
            active: boolean(obj, "active", false)?,
            bridged: boolean(obj, "bridged", false)?,
            started_at: number(obj, "startedAt")?,
        },
        "BusWorkerErrorMessage" => WorkerError { error: string(obj, "error")? },
        "BusJobRequestMessage" => JobRequest { job_id: job_id()?, job_name: optional_string(obj, "jobName")?, payload: optional_value(obj, "payload") },
        "BusJobResponseMessage" | "BusJobResponseUrgentMessage" => {
            JobResponse { job_id: job_id()?, status: status()?, response: optional_value(obj, "response"), urgent: kind.ends_with("UrgentMessage") }
        }
        "BusJobUpdateMessage" | "BusJobUpdateUrgentMessage" => {
            JobUpdate { job_id: job_id()?, update: optional_value(obj, "update"), urgent: kind.ends_with("UrgentMessage") }
        }
        "BusJobUpdateRequestMessage" => JobUpdateRequest { job_id: job_id()? },
        "BusJobCancelMessage" => JobCancel { job_id: job_id()?, reason: optional_string(obj, "reason")? },
        "BusJobStreamStartMessage" => JobStreamStart { job_id: job_id()?, data: optional_value(obj, "data") },
        "BusJobStreamDataMessage" => JobStreamData { job_id: job_id()?, data: optional_value(obj, "data") },
        "BusJobStreamEndMessage" => JobStreamEnd { job_id: job_id()?, data: optional_value(obj, "data") },
        "BusUIEventMessage" => UiEvent { event_name: string(obj, "eventName")?, payload: optional_value(obj, "payload") },
        "BusUICommandMessage" => UiCommand { command_name: string(obj, "commandName")?, payload: optional_value(obj, "payload") },
        "BusUIJobGroupStartedMessage" => {
            let workers = field(obj, "workers");
            let workers = if workers.is_null() || workers.is_undefined() {
                None
            } else if Array::is_array(&workers) {
                Some(Array::from(&workers).iter().map(|w| w.as_string().ok_or("'workers' must hold strings".to_string())).collect::<Result<_, _>>()?)
            } else {
                return Err("'workers' must be an array or null".into());
            };
            UiJobGroupStarted {
                job_id: job_id()?,
                workers,
                label: optional_string(obj, "label")?,
                cancellable: boolean(obj, "cancellable", true)?,
                at: number(obj, "at")?.unwrap_or(0.0),
            }
        }
        "BusUIJobUpdateMessage" => UiJobUpdate {
            job_id: job_id()?,
            worker_name: string(obj, "workerName")?,
            data: optional_value(obj, "data"),
            at: number(obj, "at")?.unwrap_or(0.0),
        },
        "BusUIJobCompletedMessage" => UiJobCompleted {
            job_id: job_id()?,
            worker_name: string(obj, "workerName")?,
            status: string(obj, "status")?,
            response: optional_value(obj, "response"),
            at: number(obj, "at")?.unwrap_or(0.0),
        },
        "BusUIJobGroupCompletedMessage" => UiJobGroupCompleted { job_id: job_id()?, at: number(obj, "at")?.unwrap_or(0.0) },
        "BusAddWorkerMessage" | "BusWorkerLocalErrorMessage" => return Err(format!("'{kind}' is local-only and cannot come from another realm")),
        other => return Err(format!("unknown message type '{other}'")),
    };
    Ok(Message::new(string(obj, "source")?, optional_string(obj, "target")?, body))
}
