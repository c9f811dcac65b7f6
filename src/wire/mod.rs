//! Pipecat's JSON envelope (`JSONMessageSerializer`), on a JSON tree.
//!
//! Every message is `{"__type__": "<python class path>", "__data__": {fields}}` with Pipecat's
//! field names (snake_case) in declaration order, `None` fields left out, times in seconds and
//! bytes as `{"__type__": "bytes", "__data__": "<base64>"}`. Decoding resolves tags only from
//! the fixed table below: an unknown message type is `Ok(None)` (dropped with a warning by the
//! caller), anything malformed is an error naming the problem. Nested typed values that are not
//! bytes (frames, LLM contexts, …) travel through unchanged as `{__type__, __data__}` objects.

pub mod auth;
pub mod fields;
pub mod schema;

use crate::core::message::{FrameDirection, Message};
use crate::core::registry::RegistryEntry;
use crate::core::Value;
use fields::{read_entry, read_message, write_entry, write_message, FieldReader, FieldWriter};

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
pub const ENTRY_TAG: &str = "pipecat.registry.types.WorkerRegistryEntry";
pub const DIRECTION_TAG: &str = "pipecat.processors.frame_processor.FrameDirection";

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
    tag_for(message.type_name())
}

/// The Python class path of the message type `name`.
pub fn tag_for(name: &str) -> String {
    let module = if name.starts_with("BusUI") { UI_MESSAGES } else { MESSAGES };
    format!("{module}{name}")
}

/// Writes `__data__` in declaration order, leaving out `None`s.
struct JsonWriter(Vec<(String, Json)>);

impl JsonWriter {
    fn put(&mut self, key: &str, value: Json) {
        if value != Json::Null {
            self.0.push((key.to_string(), value));
        }
    }
}

fn seconds(ms: Option<f64>) -> Json {
    ms.map(|ms| Json::Num(ms / 1000.0)).unwrap_or(Json::Null)
}

impl<V: WireValue> FieldWriter<V> for JsonWriter {
    fn string(&mut self, key: &str, value: Option<&str>) {
        self.put(key, value.map(Json::str).unwrap_or(Json::Null));
    }
    fn boolean(&mut self, key: &str, value: bool) {
        self.put(key, Json::Bool(value));
    }
    fn number(&mut self, key: &str, value: f64) {
        self.put(key, Json::Num(value));
    }
    fn time(&mut self, key: &str, ms: Option<f64>) {
        self.put(key, seconds(ms));
    }
    fn value(&mut self, key: &str, value: Option<&V>) -> Result<(), String> {
        let json = match value {
            Some(v) => v.to_json().map_err(|e| format!("{key}: {e}"))?,
            None => Json::Null,
        };
        self.put(key, json);
        Ok(())
    }
    fn strings(&mut self, key: &str, value: Option<&[String]>) {
        self.put(key, value.map(|v| Json::Arr(v.iter().map(|s| Json::str(s)).collect())).unwrap_or(Json::Null));
    }
    fn entries(&mut self, key: &str, value: &[RegistryEntry]) {
        let entries = value
            .iter()
            .map(|e| {
                let mut w = JsonWriter(Vec::new());
                write_entry::<V>(e, &mut w);
                Json::typed(ENTRY_TAG, Json::Obj(w.0))
            })
            .collect();
        // An empty list is still written: it is the snapshot.
        self.0.push((key.to_string(), Json::Arr(entries)));
    }
    fn direction(&mut self, key: &str, value: FrameDirection) {
        self.put(key, Json::typed(DIRECTION_TAG, Json::str(value.as_str())));
    }
}

/// A message in Pipecat's envelope. Local-only messages cannot be encoded.
pub fn encode<V: WireValue>(message: &Message<V>) -> Result<Json, String> {
    if message.is_local() {
        return Err(format!("{} is local-only", message.type_name()));
    }
    let mut w = JsonWriter(Vec::new());
    let (id, count) = next_ids(message.type_name());
    w.put("id", Json::Num(id as f64));
    w.put("name", Json::Str(format!("{}#{count}", message.type_name())));
    write_message(message, &mut w)?;
    Ok(Json::typed(&tag_of(message), Json::Obj(w.0)))
}

/// Reads the fields of one message's `__data__`.
struct JsonReader<'a>(&'a Json);

impl<'a> JsonReader<'a> {
    fn raw(&self, key: &str) -> Option<&'a Json> {
        self.0.get(key).filter(|v| **v != Json::Null)
    }
    fn str_field(&self, key: &str) -> Result<Option<String>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("'{key}' must be a string")),
        }
    }
    fn bool_field(&self, key: &str) -> Result<Option<bool>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("'{key}' must be a boolean")),
        }
    }
    fn num_field(&self, key: &str) -> Result<Option<f64>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Num(n)) if n.is_finite() => Ok(Some(*n)),
            Some(_) => Err(format!("'{key}' must be a finite number")),
        }
    }
}

/// Seconds on the wire, milliseconds here; a time too large for milliseconds is an error.
fn seconds_to_ms(key: &str, seconds: Option<f64>) -> Result<Option<f64>, String> {
    match seconds.map(|s| s * 1000.0) {
        Some(ms) if !ms.is_finite() => Err(format!("'{key}' is out of range")),
        ms => Ok(ms),
    }
}

fn entry_from<V: WireValue>(json: &Json) -> Result<RegistryEntry, String> {
    let data = match json.as_typed() {
        Some((ENTRY_TAG, data)) => data,
        Some((tag, _)) => return Err(format!("a registry entry must be a WorkerRegistryEntry, not '{tag}'")),
        None => json,
    };
    if !matches!(data, Json::Obj(_)) {
        return Err("a registry entry must be an object".into());
    }
    read_entry::<V>(&JsonReader(data))
}

impl<V: WireValue> FieldReader<V> for JsonReader<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, String> {
        self.str_field(key)
    }
    fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        self.bool_field(key)
    }
    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        self.num_field(key)
    }
    fn time(&self, key: &str) -> Result<Option<f64>, String> {
        seconds_to_ms(key, self.num_field(key)?)
    }
    fn value(&self, key: &str) -> Option<V> {
        self.raw(key).map(V::from_json)
    }
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Arr(list)) => list
                .iter()
                .map(|w| if let Json::Str(s) = w { Ok(s.clone()) } else { Err(format!("'{key}' must hold strings")) })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(format!("'{key}' must be a list")),
        }
    }
    fn entries(&self, key: &str) -> Result<Option<Vec<RegistryEntry>>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Json::Arr(list)) => list.iter().map(entry_from::<V>).collect::<Result<_, _>>().map(Some),
            Some(_) => Err(format!("'{key}' must be a list")),
        }
    }
    fn direction(&self, key: &str) -> Result<Option<FrameDirection>, String> {
        match self.raw(key).map(|j| j.as_typed().map(|(_, v)| v).unwrap_or(j)) {
            None => Ok(None),
            Some(Json::Str(s)) => FrameDirection::parse(s.as_str()).map(Some).ok_or_else(|| format!("unknown frame direction '{s}'")),
            Some(_) => Err(format!("'{key}' must be a FrameDirection")),
        }
    }
}

/// A message from Pipecat's envelope: `Ok(None)` for a type outside the table (to drop with a
/// warning), an error for anything malformed or local-only.
pub fn decode<V: WireValue>(json: &Json) -> Result<Option<Message<V>>, String> {
    let (tag, data) = json.as_typed().ok_or("not a typed message (no __type__/__data__)")?;
    // A class outside the catalogue is unknown, whatever its data.
    let Some(name) = class_of(tag).filter(|name| fields::NAMES.contains(name)) else { return Ok(None) };
    if !matches!(data, Json::Obj(_)) {
        return Err(format!("the data of {name} must be an object"));
    }
    read_message::<V>(name, &JsonReader(data))
}

/// The class name a message tag may resolve to: each class only under its own module, as
/// Python would resolve it.
pub fn class_of(tag: &str) -> Option<&str> {
    match (tag.strip_prefix(MESSAGES), tag.strip_prefix(UI_MESSAGES)) {
        (Some(name), _) if !name.starts_with("BusUI") => Some(name),
        (_, Some(name)) if name.starts_with("BusUI") || name == "BusDataMessage" => Some(name),
        _ => None,
    }
}

/// The message modules of Pipecat's catalogue.
pub const MODULES: [&str; 2] = [MESSAGES, UI_MESSAGES];

/// Python's `base64.b64decode` reading: the standard alphabet, padding optional, stray bits in
/// the last digit ignored (the `base64` crate, configured so).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard base64 with padding, as Python's `base64.b64encode`.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    BASE64.encode(bytes)
}

/// Decodes standard base64 (padding optional, trailing `=` of any number); `None` for anything
/// else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    BASE64.decode(text.trim_end_matches('=')).ok()
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
