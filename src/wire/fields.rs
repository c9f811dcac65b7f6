//! The fields of every message type, written and read in one place for both forms a message
//! takes outside the engine: Pipecat's JSON (`snake_case` keys, seconds) and the message objects
//! JavaScript sees and posts between realms (`camelCase` keys, milliseconds). Keys are given
//! here in Pipecat's spelling; each form spells and converts them itself.

use crate::core::message::{Body, FrameDirection, JobStatus, Message, SharedStr};
use crate::core::registry::RegistryEntry;
use crate::core::Value;

pub trait FieldWriter<V: Value> {
    fn string(&mut self, key: &str, value: Option<&str>);
    fn boolean(&mut self, key: &str, value: bool);
    fn number(&mut self, key: &str, value: f64);
    /// A time in milliseconds (seconds in Pipecat's JSON).
    fn time(&mut self, key: &str, ms: Option<f64>);
    fn value(&mut self, key: &str, value: Option<&V>) -> Result<(), String>;
    fn strings(&mut self, key: &str, value: Option<&[String]>);
    fn entries(&mut self, key: &str, value: &[RegistryEntry]);
    fn direction(&mut self, key: &str, value: FrameDirection);
}

pub trait FieldReader<V: Value> {
    fn string(&self, key: &str) -> Result<Option<String>, String>;
    fn boolean(&self, key: &str) -> Result<Option<bool>, String>;
    fn number(&self, key: &str) -> Result<Option<f64>, String>;
    /// A time in milliseconds.
    fn time(&self, key: &str) -> Result<Option<f64>, String>;
    fn value(&self, key: &str) -> Option<V>;
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, String>;
    fn entries(&self, key: &str) -> Result<Option<Vec<RegistryEntry>>, String>;
    fn direction(&self, key: &str) -> Result<Option<FrameDirection>, String>;
}

/// Every class name `read_body` knows, aliases and local-only ones included (the wire schema is
/// probed from it, see `super::schema`).
pub const NAMES: &[&str] = &[
    "BusMessage", "BusDataMessage", "BusUIDataMessage", "BusSystemMessage", "BusFrameMessage", "BusTTSSpeakMessage",
    "BusFlushProgressMessage", "BusActivateWorkerMessage", "BusDeactivateWorkerMessage", "BusEndMessage", "BusEndWorkerMessage",
    "BusCancelMessage", "BusCancelWorkerMessage", "BusWorkerRegistryMessage", "BusWorkerReadyMessage", "BusWorkerErrorMessage",
    "BusJobRequestMessage", "BusJobResponseMessage", "BusJobResponseUrgentMessage", "BusJobUpdateMessage", "BusJobUpdateUrgentMessage",
    "BusJobUpdateRequestMessage", "BusJobCancelMessage", "BusJobStreamStartMessage", "BusJobStreamDataMessage", "BusJobStreamEndMessage",
    "BusUIEventMessage", "BusUICommandMessage", "BusUIJobGroupStartedMessage", "BusUIJobUpdateMessage", "BusUIJobCompletedMessage",
    "BusUIJobGroupCompletedMessage", "BusAddWorkerMessage", "BusWorkerLocalErrorMessage",
];

/// Writes a message's fields in Pipecat's declaration order: `source`, `target`, then the body's.
pub fn write_message<V: Value>(message: &Message<V>, w: &mut dyn FieldWriter<V>) -> Result<(), String> {
    w.string("source", Some(&message.source));
    w.string("target", message.target.as_deref());
    write_body(&message.body, w)?;
    write_route(message, w);
    Ok(())
}

/// workbus's pool routing (extra fields Pipecat peers ignore); absent when not routed.
pub fn write_route<V: Value>(message: &Message<V>, w: &mut dyn FieldWriter<V>) {
    w.string("target_runner", message.target_runner.as_deref());
    w.string("source_runner", message.source_runner.as_deref());
}

pub fn read_route<V: Value>(message: Message<V>, r: &dyn FieldReader<V>) -> Result<Message<V>, String> {
    let target_runner = r.string("target_runner")?.map(|r| SharedStr::interned(&r));
    let source_runner = r.string("source_runner")?.map(|r| SharedStr::interned(&r));
    Ok(message.routed(source_runner, target_runner))
}

/// Reads a message of the type `name` (Pipecat's class name): its body, then `source` and
/// `target`. `Ok(None)` for a name outside the catalogue.
pub fn read_message<V: Value>(name: &str, r: &dyn FieldReader<V>) -> Result<Option<Message<V>>, String> {
    let Some(body) = read_body(name, r)? else { return Ok(None) };
    let source = required(r.string("source"), "source")?;
    Ok(Some(read_route(Message::new(SharedStr::interned(&source), r.string("target")?.map(|t| SharedStr::interned(&t)), body), r)?))
}

/// The fields of a registry entry (`WorkerRegistryEntry`).
pub fn write_entry<V: Value>(entry: &RegistryEntry, w: &mut dyn FieldWriter<V>) {
    w.string("name", Some(&entry.name));
    w.string("parent", entry.parent.as_deref());
    w.boolean("active", entry.active);
    w.boolean("bridged", entry.bridged);
    w.time("started_at", entry.started_at);
}

pub fn read_entry<V: Value>(r: &dyn FieldReader<V>) -> Result<RegistryEntry, String> {
    Ok(RegistryEntry {
        name: required(r.string("name"), "name")?,
        parent: r.string("parent")?,
        active: r.boolean("active")?.unwrap_or(false),
        bridged: r.boolean("bridged")?.unwrap_or(false),
        started_at: r.time("started_at")?,
    })
}

/// Writes a body's fields in Pipecat's declaration order (after `source` and `target`).
pub fn write_body<V: Value>(body: &Body<V>, w: &mut dyn FieldWriter<V>) -> Result<(), String> {
    use Body::*;
    match body {
        Data | System | DeactivateWorker => {}
        Frame { frame, direction, bridge } => {
            w.value("frame", Some(frame))?;
            w.direction("direction", *direction);
            w.string("bridge", bridge.as_deref());
        }
        TtsSpeak { text, append_to_context } => {
            w.string("text", Some(text));
            w.boolean("append_to_context", *append_to_context);
        }
        FlushProgress { flush_id } => w.number("flush_id", *flush_id),
        ActivateWorker { args } => w.value("args", args.as_ref())?,
        End { reason } | EndWorker { reason } | Cancel { reason } | CancelWorker { reason } => w.string("reason", reason.as_deref()),
        AddWorker { .. } | WorkerLocalError { .. } => return Err("a local-only message cannot leave this realm".into()),
        WorkerRegistry { runner, workers } => {
            w.string("runner", Some(runner));
            w.entries("workers", workers);
        }
        WorkerReady { runner, parent, active, bridged, started_at } => {
            w.string("runner", Some(runner));
            w.string("parent", parent.as_deref());
            w.boolean("active", *active);
            w.boolean("bridged", *bridged);
            w.time("started_at", *started_at);
        }
        WorkerError { error } => w.string("error", Some(error)),
        JobRequest { job_id, job_name, payload, attempt } => {
            w.string("job_id", Some(job_id));
            w.string("job_name", job_name.as_deref());
            w.value("payload", payload.as_ref())?;
            if let Some(attempt) = attempt {
                w.number("attempt", f64::from(*attempt));
            }
        }
        JobResponse { job_id, status, response, .. } => {
            w.string("job_id", Some(job_id));
            w.string("status", Some(status.as_str()));
            w.value("response", response.as_ref())?;
        }
        JobUpdate { job_id, update, .. } => {
            w.string("job_id", Some(job_id));
            w.value("update", update.as_ref())?;
        }
        JobUpdateRequest { job_id } => w.string("job_id", Some(job_id)),
        JobCancel { job_id, reason } => {
            w.string("job_id", Some(job_id));
            w.string("reason", reason.as_deref());
        }
        JobStreamStart { job_id, data } | JobStreamData { job_id, data } | JobStreamEnd { job_id, data } => {
            w.string("job_id", Some(job_id));
            w.value("data", data.as_ref())?;
        }
        UiEvent { event_name, payload } => {
            w.string("event_name", Some(event_name));
            w.value("payload", payload.as_ref())?;
        }
        UiCommand { command_name, payload } => {
            w.string("command_name", Some(command_name));
            w.value("payload", payload.as_ref())?;
        }
        UiJobGroupStarted { job_id, workers, label, cancellable, at } => {
            w.string("job_id", Some(job_id));
            w.strings("workers", workers.as_deref());
            w.string("label", label.as_deref());
            w.boolean("cancellable", *cancellable);
            w.number("at", *at);
        }
        UiJobUpdate { job_id, worker_name, data, at } => {
            w.string("job_id", Some(job_id));
            w.string("worker_name", Some(worker_name));
            w.value("data", data.as_ref())?;
            w.number("at", *at);
        }
        UiJobCompleted { job_id, worker_name, status, response, at } => {
            w.string("job_id", Some(job_id));
            w.string("worker_name", Some(worker_name));
            w.string("status", Some(status));
            w.value("response", response.as_ref())?;
            w.number("at", *at);
        }
        UiJobGroupCompleted { job_id, at } => {
            w.string("job_id", Some(job_id));
            w.number("at", *at);
        }
    }
    Ok(())
}

/// A retry's number: a whole number from 1.
fn attempt_number(n: f64) -> Result<u32, String> {
    if n >= 1.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 {
        Ok(n as u32)
    } else {
        // The value is not printed: formatting a float would add float printing to the wasm.
        Err("'attempt' must be a whole number >= 1".to_string())
    }
}

fn required<T>(value: Result<Option<T>, String>, key: &str) -> Result<T, String> {
    value?.ok_or_else(|| format!("'{key}' is missing"))
}

/// Reads the body of the message type `name` (Pipecat's class name). `Ok(None)` for a name
/// outside the catalogue; local-only types are refused.
pub fn read_body<V: Value>(name: &str, r: &dyn FieldReader<V>) -> Result<Option<Body<V>>, String> {
    use Body::*;
    let string = |k: &str| required(r.string(k), k);
    let job_id = || string("job_id").map(SharedStr::from);
    let or_default = |k: &str| r.string(k).map(Option::unwrap_or_default);
    let at = || r.number("at").map(|n| n.unwrap_or(0.0));
    Ok(Some(match name {
        "BusDataMessage" | "BusMessage" | "BusUIDataMessage" => Data,
        "BusSystemMessage" => System,
        "BusFrameMessage" => Frame {
            frame: r.value("frame").unwrap_or_else(|| V::empty_object()),
            direction: r.direction("direction")?.unwrap_or(FrameDirection::Downstream),
            bridge: r.string("bridge")?,
        },
        "BusTTSSpeakMessage" => TtsSpeak { text: string("text")?, append_to_context: r.boolean("append_to_context")?.unwrap_or(true) },
        "BusFlushProgressMessage" => FlushProgress { flush_id: required(r.number("flush_id"), "flush_id")? },
        "BusActivateWorkerMessage" => ActivateWorker { args: r.value("args") },
        "BusDeactivateWorkerMessage" => DeactivateWorker,
        "BusEndMessage" => End { reason: r.string("reason")? },
        "BusEndWorkerMessage" => EndWorker { reason: r.string("reason")? },
        "BusCancelMessage" => Cancel { reason: r.string("reason")? },
        "BusCancelWorkerMessage" => CancelWorker { reason: r.string("reason")? },
        "BusWorkerRegistryMessage" => WorkerRegistry { runner: string("runner")?, workers: r.entries("workers")?.unwrap_or_default() },
        "BusWorkerReadyMessage" => WorkerReady {
            runner: string("runner")?,
            parent: r.string("parent")?,
            active: r.boolean("active")?.unwrap_or(false),
            bridged: r.boolean("bridged")?.unwrap_or(false),
            started_at: r.time("started_at")?,
        },
        "BusWorkerErrorMessage" => WorkerError { error: string("error")? },
        "BusJobRequestMessage" => JobRequest {
            job_id: job_id()?,
            job_name: r.string("job_name")?,
            payload: r.value("payload"),
            attempt: r.number("attempt")?.map(attempt_number).transpose()?,
        },
        "BusJobResponseMessage" | "BusJobResponseUrgentMessage" => {
            let status = string("status")?;
            JobResponse {
                job_id: job_id()?,
                status: JobStatus::parse(&status).ok_or_else(|| format!("unknown job status '{status}'"))?,
                response: r.value("response"),
                urgent: name.ends_with("UrgentMessage"),
            }
        }
        "BusJobUpdateMessage" | "BusJobUpdateUrgentMessage" => JobUpdate { job_id: job_id()?, update: r.value("update"), urgent: name.ends_with("UrgentMessage") },
        "BusJobUpdateRequestMessage" => JobUpdateRequest { job_id: job_id()? },
        "BusJobCancelMessage" => JobCancel { job_id: job_id()?, reason: r.string("reason")? },
        "BusJobStreamStartMessage" => JobStreamStart { job_id: job_id()?, data: r.value("data") },
        "BusJobStreamDataMessage" => JobStreamData { job_id: job_id()?, data: r.value("data") },
        "BusJobStreamEndMessage" => JobStreamEnd { job_id: job_id()?, data: r.value("data") },
        "BusUIEventMessage" => UiEvent { event_name: or_default("event_name")?, payload: r.value("payload") },
        "BusUICommandMessage" => UiCommand { command_name: or_default("command_name")?, payload: r.value("payload") },
        "BusUIJobGroupStartedMessage" => UiJobGroupStarted {
            job_id: or_default("job_id")?.into(),
            workers: r.strings("workers")?,
            label: r.string("label")?,
            cancellable: r.boolean("cancellable")?.unwrap_or(true),
            at: at()?,
        },
        "BusUIJobUpdateMessage" => UiJobUpdate { job_id: or_default("job_id")?.into(), worker_name: or_default("worker_name")?, data: r.value("data"), at: at()? },
        "BusUIJobCompletedMessage" => UiJobCompleted {
            job_id: or_default("job_id")?.into(),
            worker_name: or_default("worker_name")?,
            status: or_default("status")?,
            response: r.value("response"),
            at: at()?,
        },
        "BusUIJobGroupCompletedMessage" => UiJobGroupCompleted { job_id: or_default("job_id")?.into(), at: at()? },
        "BusAddWorkerMessage" | "BusWorkerLocalErrorMessage" => return Err(format!("{name} is local-only and cannot come from another realm")),
        _ => return Ok(None),
    }))
}

/// `job_id` → `jobId`: how JavaScript spells Pipecat's keys.
pub fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
