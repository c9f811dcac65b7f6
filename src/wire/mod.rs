//! Pipecat's JSON envelope (`JSONMessageSerializer`), on a JSON tree.
//!
//! Every message is `{"__type__": "<python class path>", "__data__": {fields}}` with Pipecat's
//! field names (snake_case) in declaration order, `None` fields left out, times in seconds and
//! bytes as `{"__type__": "bytes", "__data__": "<base64>"}`. Decoding resolves tags only from
//! the fixed table below: an unknown message type is `Ok(None)` (dropped with a warning by the
//! caller), anything malformed is an error naming the problem. Nested typed values that are not
//! bytes (frames, LLM contexts, …) travel through unchanged as `{__type__, __data__}` objects.

use crate::core::message::{Body, FrameDirection, JobStatus, Message};
use crate::core::registry::RegistryEntry;
use crate::core::Value;

/// A JSON value; objects keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }
    /// `{"__type__": tag, "__data__": data}`.
    pub fn typed(tag: &str, data: Json) -> Json {
        Json::Obj(vec![("__type__".into(), Json::str(tag)), ("__data__".into(), data)])
    }
    /// The tag and data of a typed value (an object with both keys).
    pub fn as_typed(&self) -> Option<(&str, &Json)> {
        match (self.get("__type__"), self.get("__data__")) {
            (Some(Json::Str(tag)), Some(data)) => Some((tag, data)),
            _ => None,
        }
    }
}

/// How payload values become JSON and back (a `JsValue` walks its properties; `Uint8Array`
/// is bytes).
pub trait WireValue: Value {
    fn to_json(&self) -> Result<Json, String>;
    fn from_json(json: &Json) -> Self;
}

/// The type tag of the bytes envelope.
pub const BYTES_TAG: &str = "bytes";
const MESSAGES: &str = "pipecat.bus.messages.";
const UI_MESSAGES: &str = "pipecat.bus.ui.messages.";
const ENTRY_TAG: &str = "pipecat.registry.types.WorkerRegistryEntry";
const DIRECTION_TAG: &str = "pipecat.processors.frame_processor.FrameDirection";

thread_local! {
    static IDS: std::cell::RefCell<(u64, Vec<(&'static str, u64)>)> = const { std::cell::RefCell::new((0, Vec::new())) };
}

/// Pipecat 1.14 numbers every message (`id`, process-wide) and names it `Class#n` (per class).
fn next_ids(class: &'static str) -> (u64, u64) {
    IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        ids.0 += 1;
        let id = ids.0;
        let count = match ids.1.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                ids.1.push((class, 0));
                0
            }
        };
        (id, count)
    })
}

/// The Python class path of a message type.
pub fn tag_of<V: Value>(message: &Message<V>) -> String {
    let name = message.type_name();
    let module = if name.starts_with("BusUI") { UI_MESSAGES } else { MESSAGES };
    format!("{module}{name}")
}

/// Builds `__data__` in declaration order, leaving out `None`s.
struct Fields(Vec<(String, Json)>);

impl Fields {
    fn put(&mut self, key: &str, value: Json) -> &mut Self {
        if value != Json::Null {
            self.0.push((key.to_string(), value));
        }
        self
    }
    fn opt_str(&mut self, key: &str, value: &Option<String>) -> &mut Self {
        self.put(key, value.as_deref().map(Json::str).unwrap_or(Json::Null))
    }
    fn value<V: WireValue>(&mut self, key: &str, value: &Option<V>) -> Result<&mut Self, String> {
        let json = match value {
            Some(v) => v.to_json().map_err(|e| format!("{key}: {e}"))?,
            None => Json::Null,
        };
        Ok(self.put(key, json))
    }
}

fn seconds(ms: Option<f64>) -> Json {
    ms.map(|ms| Json::Num(ms / 1000.0)).unwrap_or(Json::Null)
}

fn entry(e: &RegistryEntry) -> Json {
    let mut f = Fields(Vec::new());
    f.put("name", Json::str(&e.name))
        .opt_str("parent", &e.parent)
        .put("active", Json::Bool(e.active))
        .put("bridged", Json::Bool(e.bridged))
        .put("started_at", seconds(e.started_at));
    Json::typed(ENTRY_TAG, Json::Obj(f.0))
}

/// A message in Pipecat's envelope. Local-only messages cannot be encoded.
pub fn encode<V: WireValue>(message: &Message<V>) -> Result<Json, String> {
    if message.is_local() {
        return Err(format!("{} is local-only", message.type_name()));
    }
    let mut f = Fields(Vec::new());
    let (id, count) = next_ids(message.type_name());
    f.put("id", Json::Num(id as f64))
        .put("name", Json::Str(format!("{}#{count}", message.type_name())))
        .put("source", Json::str(&message.source))
        .opt_str("target", &message.target);
    use Body::*;
    match &message.body {
        Data | System | DeactivateWorker => {}
        Frame { frame, direction, bridge } => {
            f.put("frame", frame.to_json()?)
                .put("direction", Json::typed(DIRECTION_TAG, Json::str(direction.as_str())))
                .opt_str("bridge", bridge);
        }
        TtsSpeak { text, append_to_context } => {
            f.put("text", Json::str(text)).put("append_to_context", Json::Bool(*append_to_context));
        }
        FlushProgress { flush_id } => {
            f.put("flush_id", Json::Num(*flush_id));
        }
        ActivateWorker { args } => {
            f.value("args", args)?;
        }
        End { reason } | EndWorker { reason } | Cancel { reason } | CancelWorker { reason } => {
            f.opt_str("reason", reason);
        }
        AddWorker { .. } | WorkerLocalError { .. } => unreachable!("local-only messages are refused above"),
        WorkerRegistry { runner, workers } => {
            f.put("runner", Json::str(runner)).put("workers", Json::Arr(workers.iter().map(entry).collect()));
        }
        WorkerReady { runner, parent, active, bridged, started_at } => {
            f.put("runner", Json::str(runner))
                .opt_str("parent", parent)
                .put("active", Json::Bool(*active))
                .put("bridged", Json::Bool(*bridged))
                .put("started_at", seconds(*started_at));
        }
        WorkerError { error } => {
            f.put("error", Json::str(error));
        }
        JobRequest { job_id, job_name, payload } => {
            f.put("job_id", Json::str(job_id)).opt_str("job_name", job_name).value("payload", payload)?;
        }
        JobResponse { job_id, status, response, .. } => {
            f.put("job_id", Json::str(job_id)).put("status", Json::str(status.as_str())).value("response", response)?;
        }
        JobUpdate { job_id, update, .. } => {
            f.put("job_id", Json::str(job_id)).value("update", update)?;
        }
        JobUpdateRequest { job_id } => {
            f.put("job_id", Json::str(job_id));
        }
        JobCancel { job_id, reason } => {
            f.put("job_id", Json::str(job_id)).opt_str("reason", reason);
        }
        JobStreamStart { job_id, data } | JobStreamData { job_id, data } | JobStreamEnd { job_id, data } => {
            f.put("job_id", Json::str(job_id)).value("data", data)?;
        }
        UiEvent { event_name, payload } => {
            f.put("event_name", Json::str(event_name)).value("payload", payload)?;
        }
        UiCommand { command_name, payload } => {
            f.put("command_name", Json::str(command_name)).value("payload", payload)?;
        }
        UiJobGroupStarted { job_id, workers, label, cancellable, at } => {
            let workers = workers.as_ref().map(|w| Json::Arr(w.iter().map(|n| Json::str(n)).collect())).unwrap_or(Json::Null);
            f.put("job_id", Json::str(job_id)).put("workers", workers).opt_str("label", label).put("cancellable", Json::Bool(*cancellable)).put("at", Json::Num(*at));
        }
        UiJobUpdate { job_id, worker_name, data, at } => {
            f.put("job_id", Json::str(job_id)).put("worker_name", Json::str(worker_name)).value("data", data)?.put("at", Json::Num(*at));
        }
        UiJobCompleted { job_id, worker_name, status, response, at } => {
            f.put("job_id", Json::str(job_id))
                .put("worker_name", Json::str(worker_name))
                .put("status", Json::str(status))
                .value("response", response)?
                .put("at", Json::Num(*at));
        }
        UiJobGroupCompleted { job_id, at } => {
            f.put("job_id", Json::str(job_id)).put("at", Json::Num(*at));
        }
    }
    Ok(Json::typed(&tag_of(message), Json::Obj(f.0)))
}

/// Reads the fields of one message's `__data__`.
struct Reader<'a>(&'a Json);

impl<'a> Reader<'a> {
    fn raw(&self, key: &str) -> Option<&'a Json> {
        self.0.get(key).filter(|v| **v != Json::Null)
    }
    fn string(&self, key: &str) -> Result<String, String> {
        self.opt_string(key)?.ok_or_else(|| format!("'{key}' is missing"))
    }
    fn opt_string(&self, key: &str) -> Result<Option<String>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("'{key}' must be a string")),
        }
    }
    fn boolean(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.raw(key) {
            None => Ok(default),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("'{key}' must be a boolean")),
        }
    }
    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Num(n)) => Ok(Some(*n)),
            Some(_) => Err(format!("'{key}' must be a number")),
        }
    }
    /// Seconds on the wire, milliseconds here.
    fn millis(&self, key: &str) -> Result<Option<f64>, String> {
        Ok(self.number(key)?.map(|s| s * 1000.0))
    }
    fn value<V: WireValue>(&self, key: &str) -> Option<V> {
        self.raw(key).map(V::from_json)
    }
}

fn decode_entry(json: &Json) -> Result<RegistryEntry, String> {
    let data = match json.as_typed() {
        Some((ENTRY_TAG, data)) => data,
        Some((tag, _)) => return Err(format!("a registry entry must be a WorkerRegistryEntry, not '{tag}'")),
        None => json,
    };
    if !matches!(data, Json::Obj(_)) {
        return Err("a registry entry must be an object".into());
    }
    let d = Reader(data);
    Ok(RegistryEntry {
        name: d.string("name")?,
        parent: d.opt_string("parent")?,
        active: d.boolean("active", false)?,
        bridged: d.boolean("bridged", false)?,
        started_at: d.millis("started_at")?,
    })
}

/// A message from Pipecat's envelope: `Ok(None)` for a type outside the table (to drop with a
/// warning), an error for anything malformed or local-only.
pub fn decode<V: WireValue>(json: &Json) -> Result<Option<Message<V>>, String> {
    let (tag, data) = json.as_typed().ok_or("not a typed message (no __type__/__data__)")?;
    let name = match tag.strip_prefix(MESSAGES).or_else(|| tag.strip_prefix(UI_MESSAGES)) {
        Some(name) => name,
        None => return Ok(None),
    };
    if !matches!(data, Json::Obj(_)) {
        return Err(format!("the data of {name} must be an object"));
    }
    let d = Reader(data);
    let job_id = || d.string("job_id");
    use Body::*;
    let body = match name {
        "BusDataMessage" | "BusMessage" | "BusUIDataMessage" => Data,
        "BusSystemMessage" => System,
        "BusFrameMessage" => {
            let direction = match d.raw("direction").map(|j| j.as_typed().map(|(_, v)| v).unwrap_or(j)) {
                Some(Json::Str(s)) => FrameDirection::parse(s.as_str()).ok_or_else(|| format!("unknown frame direction '{s}'"))?,
                None => FrameDirection::Downstream,
                Some(_) => return Err("'direction' must be a FrameDirection".into()),
            };
            Frame { frame: d.value("frame").unwrap_or_else(|| V::from_json(&Json::Null)), direction, bridge: d.opt_string("bridge")? }
        }
        "BusTTSSpeakMessage" => TtsSpeak { text: d.string("text")?, append_to_context: d.boolean("append_to_context", true)? },
        "BusFlushProgressMessage" => FlushProgress { flush_id: d.number("flush_id")?.ok_or("'flush_id' is missing")? },
        "BusActivateWorkerMessage" => ActivateWorker { args: d.value("args") },
        "BusDeactivateWorkerMessage" => DeactivateWorker,
        "BusEndMessage" => End { reason: d.opt_string("reason")? },
        "BusEndWorkerMessage" => EndWorker { reason: d.opt_string("reason")? },
        "BusCancelMessage" => Cancel { reason: d.opt_string("reason")? },
        "BusCancelWorkerMessage" => CancelWorker { reason: d.opt_string("reason")? },
        "BusWorkerRegistryMessage" => {
            let workers = match d.raw("workers") {
                None => Vec::new(),
                Some(Json::Arr(list)) => list.iter().map(decode_entry).collect::<Result<_, _>>()?,
                Some(_) => return Err("'workers' must be a list".into()),
            };
            WorkerRegistry { runner: d.string("runner")?, workers }
        }
        "BusWorkerReadyMessage" => WorkerReady {
            runner: d.string("runner")?,
            parent: d.opt_string("parent")?,
            active: d.boolean("active", false)?,
            bridged: d.boolean("bridged", false)?,
            started_at: d.millis("started_at")?,
        },
        "BusWorkerErrorMessage" => WorkerError { error: d.string("error")? },
        "BusJobRequestMessage" => JobRequest { job_id: job_id()?, job_name: d.opt_string("job_name")?, payload: d.value("payload") },
        "BusJobResponseMessage" | "BusJobResponseUrgentMessage" => {
            let status = d.string("status")?;
            JobResponse {
                job_id: job_id()?,
                status: JobStatus::parse(&status).ok_or_else(|| format!("unknown job status '{status}'"))?,
                response: d.value("response"),
                urgent: name == "BusJobResponseUrgentMessage",
            }
        }
        "BusJobUpdateMessage" | "BusJobUpdateUrgentMessage" => {
            JobUpdate { job_id: job_id()?, update: d.value("update"), urgent: name == "BusJobUpdateUrgentMessage" }
        }
        "BusJobUpdateRequestMessage" => JobUpdateRequest { job_id: job_id()? },
        "BusJobCancelMessage" => JobCancel { job_id: job_id()?, reason: d.opt_string("reason")? },
        "BusJobStreamStartMessage" => JobStreamStart { job_id: job_id()?, data: d.value("data") },
        "BusJobStreamDataMessage" => JobStreamData { job_id: job_id()?, data: d.value("data") },
        "BusJobStreamEndMessage" => JobStreamEnd { job_id: job_id()?, data: d.value("data") },
        "BusUIEventMessage" => UiEvent { event_name: d.opt_string("event_name")?.unwrap_or_default(), payload: d.value("payload") },
        "BusUICommandMessage" => UiCommand { command_name: d.opt_string("command_name")?.unwrap_or_default(), payload: d.value("payload") },
        "BusUIJobGroupStartedMessage" => {
            let workers = match d.raw("workers") {
                None => None,
                Some(Json::Arr(list)) => Some(
                    list.iter().map(|w| if let Json::Str(s) = w { Ok(s.clone()) } else { Err("'workers' must hold strings".to_string()) }).collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err("'workers' must be a list".into()),
            };
            UiJobGroupStarted {
                job_id: d.opt_string("job_id")?.unwrap_or_default(),
                workers,
                label: d.opt_string("label")?,
                cancellable: d.boolean("cancellable", true)?,
                at: d.number("at")?.unwrap_or(0.0),
            }
        }
        "BusUIJobUpdateMessage" => UiJobUpdate {
            job_id: d.opt_string("job_id")?.unwrap_or_default(),
            worker_name: d.opt_string("worker_name")?.unwrap_or_default(),
            data: d.value("data"),
            at: d.number("at")?.unwrap_or(0.0),
        },
        "BusUIJobCompletedMessage" => UiJobCompleted {
            job_id: d.opt_string("job_id")?.unwrap_or_default(),
            worker_name: d.opt_string("worker_name")?.unwrap_or_default(),
            status: d.opt_string("status")?.unwrap_or_default(),
            response: d.value("response"),
            at: d.number("at")?.unwrap_or(0.0),
        },
        "BusUIJobGroupCompletedMessage" => UiJobGroupCompleted { job_id: d.opt_string("job_id")?.unwrap_or_default(), at: d.number("at")?.unwrap_or(0.0) },
        "BusAddWorkerMessage" | "BusWorkerLocalErrorMessage" => return Err(format!("{name} is local-only and cannot arrive over a wire")),
        _ => return Ok(None),
    };
    Ok(Some(Message::new(d.string("source")?, d.opt_string("target")?, body)))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as Python's `base64.b64encode`.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` for anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.trim_end_matches('=').bytes().map(|c| BASE64.iter().position(|&d| d == c).map(|p| p as u8)).collect::<Option<_>>()?;
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | (*d as u32) << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Limits on what a decoder accepts from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of JSON text.
    pub max_bytes: usize,
    /// Nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 16 * 1024 * 1024, max_depth: 64 }
    }
}

/// The nesting depth of a JSON value.
pub fn depth(json: &Json) -> usize {
    match json {
        Json::Arr(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Obj(fields) => 1 + fields.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Compact JSON text (`,` and `:` without spaces, as Pipecat writes). Numbers that are whole
/// and safe print as integers; others through `float` (the host's shortest form).
pub fn to_text(json: &Json, float: &dyn Fn(f64) -> String) -> String {
    let mut out = String::new();
    write(json, float, &mut out);
    out
}

fn write(json: &Json, float: &dyn Fn(f64) -> String, out: &mut String) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) if !n.is_finite() => out.push_str("null"),
        Json::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => out.push_str(&(*n as i64).to_string()),
        Json::Num(n) => out.push_str(&float(*n)),
        Json::Str(s) => write_str(s, out),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, float, out);
            }
            out.push(']');
        }
        Json::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write(v, float, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from_digit(c as u32 >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit(c as u32 & 15, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
