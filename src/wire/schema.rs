//! The wire's tables as data, for a codec written in another language (the JavaScript one in
//! `js/wire.js`, which encodes and decodes with the host's `JSON.stringify` / `JSON.parse`).
//!
//! Nothing here is written twice: the tables are probed from the one definition of every
//! message (`fields::read_message` / `write_message`, `read_entry` / `write_entry`) and of the
//! tags (`class_of`, `tag_for`). Reading a message with every field present gives its fields and
//! their kinds (in reading order, which decides the first error reported, and in writing order,
//! Pipecat's declaration order); reading it with one field absent tells whether that field is
//! required (and the error), defaulted (to what) or optional; reading one string field with a
//! value no enum holds tells whether it is an enum (and its values and error).
//!
//! The schema, as JSON:
//! ```text
//! { "bytesTag", "entryTag", "directionTag", "directions": [..], "maxBytes", "maxDepth",
//!   "entry": [field..],                                    // a WorkerRegistryEntry's fields
//!   "tags": { "<python class path>": "<message type>" },   // what decodes, and as what
//!   "aliases": { "<class name>": "<message type>" },       // other names a message object may use
//!   "refused": { "<python class path or message type>": "<error>" },  // local-only messages
//!   "types": { "<message type>": { "tag", "fields": [field..], "reads": [index..] } } }
//! field: { "key": snake_case, "name": camelCase, "kind", "required"?: error, "default"?: value,
//!          "values"?: [..], "invalid"?: error with "{}" for the value }
//! ```
//! `kind` is the `FieldWriter` method: string, boolean, number, time (ms here, seconds on the
//! wire), value (a payload), strings, entries, direction. `reads` lists the fields in reading
//! order (indexes into `fields`, which are in writing order).

use super::fields::{camel_case, read_entry, read_message, write_entry, write_message, FieldReader, FieldWriter, NAMES};
use super::{class_of, tag_for, to_text, Json, Limits, BYTES_TAG, DIRECTION_TAG, ENTRY_TAG, MODULES};
use crate::core::message::{FrameDirection, JobStatus};
use crate::core::registry::RegistryEntry;
use crate::core::Value;
use std::cell::RefCell;

/// A payload while probing: given by the probe, or made by the reader (a default).
#[derive(Clone, Debug, PartialEq)]
enum Probe {
    Given,
    EmptyObject,
}

impl Value for Probe {
    fn empty_object() -> Self {
        Probe::EmptyObject
    }
    fn error_object(_: &str) -> Self {
        Probe::EmptyObject
    }
    fn reason_object(_: &str) -> Self {
        Probe::EmptyObject
    }
    fn string_field(&self, _: &str) -> Option<String> {
        None
    }
    fn is_nullish(&self) -> bool {
        false
    }
    fn error_from_message(_: &str) -> Self {
        Probe::EmptyObject
    }
}

/// A string no enum holds.
const MARKER: &str = "\u{1}workbus-probe\u{1}";
/// A string every field accepts (including the job status).
const ANY_STRING: &str = "completed";

/// Every field present, except `absent`; string field `key` reads `value` when `set`.
struct Reader<'a> {
    absent: Option<&'a str>,
    set: Option<(&'a str, &'a str)>,
    reads: RefCell<Vec<String>>,
}

impl<'a> Reader<'a> {
    fn new(absent: Option<&'a str>, set: Option<(&'a str, &'a str)>) -> Self {
        Reader { absent, set, reads: RefCell::default() }
    }
    fn present(&self, key: &str) -> bool {
        self.reads.borrow_mut().push(key.to_string());
        self.absent != Some(key)
    }
}

impl FieldReader<Probe> for Reader<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, String> {
        let value = match self.set {
            Some((k, v)) if k == key => v,
            _ => ANY_STRING,
        };
        Ok(self.present(key).then(|| value.to_string()))
    }
    fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        Ok(self.present(key).then_some(false))
    }
    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        Ok(self.present(key).then_some(1.0))
    }
    fn time(&self, key: &str) -> Result<Option<f64>, String> {
        Ok(self.present(key).then_some(1.0))
    }
    fn value(&self, key: &str) -> Option<Probe> {
        self.present(key).then_some(Probe::Given)
    }
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        Ok(self.present(key).then(Vec::new))
    }
    fn entries(&self, key: &str) -> Result<Option<Vec<RegistryEntry>>, String> {
        Ok(self.present(key).then(Vec::new))
    }
    fn direction(&self, key: &str) -> Result<Option<FrameDirection>, String> {
        Ok(self.present(key).then_some(FrameDirection::Downstream))
    }
}

/// Records each field written: key, kind, and the value (`Null` for none).
#[derive(Default)]
struct Writer(Vec<(String, &'static str, Json)>);

impl Writer {
    fn put(&mut self, key: &str, kind: &'static str, value: Json) {
        self.0.push((key.to_string(), kind, value));
    }
}

fn opt(v: Option<Json>) -> Json {
    v.unwrap_or(Json::Null)
}

impl FieldWriter<Probe> for Writer {
    fn string(&mut self, key: &str, value: Option<&str>) {
        self.put(key, "string", opt(value.map(Json::str)));
    }
    fn boolean(&mut self, key: &str, value: bool) {
        self.put(key, "boolean", Json::Bool(value));
    }
    fn number(&mut self, key: &str, value: f64) {
        self.put(key, "number", Json::Num(value));
    }
    fn time(&mut self, key: &str, ms: Option<f64>) {
        self.put(key, "time", opt(ms.map(Json::Num)));
    }
    fn value(&mut self, key: &str, value: Option<&Probe>) -> Result<(), String> {
        let v = match value {
            None => Json::Null,
            Some(Probe::EmptyObject) => Json::Obj(Vec::new()),
            Some(Probe::Given) => Json::str("given"),
        };
        self.put(key, "value", v);
        Ok(())
    }
    fn strings(&mut self, key: &str, value: Option<&[String]>) {
        self.put(key, "strings", opt(value.map(|v| Json::Arr(v.iter().map(|s| Json::str(s)).collect()))));
    }
    fn entries(&mut self, key: &str, value: &[RegistryEntry]) {
        self.put(key, "entries", Json::Arr(value.iter().map(|e| Json::str(&e.name)).collect()));
    }
    fn direction(&mut self, key: &str, value: FrameDirection) {
        self.put(key, "direction", Json::str(value.as_str()));
    }
}

/// How one kind of record is read and written, for probing.
trait Record {
    fn read(&self, r: &Reader) -> Result<Writer, String>;
}

/// A message type, read under the class name `name`.
struct MessageRecord<'a>(&'a str);

impl Record for MessageRecord<'_> {
    fn read(&self, r: &Reader) -> Result<Writer, String> {
        let message = read_message::<Probe>(self.0, r)?.ok_or_else(|| format!("{} is outside the catalogue", self.0))?;
        let mut w = Writer::default();
        write_message(&message, &mut w)?;
        Ok(w)
    }
}

struct EntryRecord;

impl Record for EntryRecord {
    fn read(&self, r: &Reader) -> Result<Writer, String> {
        let entry = read_entry::<Probe>(r)?;
        let mut w = Writer::default();
        write_entry::<Probe>(&entry, &mut w);
        Ok(w)
    }
}

/// `(fields in writing order, reading order as indexes)`.
fn fields(record: &dyn Record) -> Result<(Vec<Json>, Vec<Json>), String> {
    let full = Reader::new(None, None);
    let written = record.read(&full)?.0;
    let reads = full.reads.into_inner();
    let mut out = Vec::new();
    for (key, kind, _) in &written {
        let mut field = vec![("key".into(), Json::str(key)), ("name".into(), Json::Str(camel_case(key))), ("kind".into(), Json::str(kind))];
        match record.read(&Reader::new(Some(key), None)) {
            Err(e) => field.push(("required".into(), Json::Str(e))),
            Ok(w) => {
                let default = w.0.into_iter().find(|(k, ..)| k == key).map(|(.., v)| v).unwrap_or(Json::Null);
                if default != Json::Null {
                    field.push(("default".into(), default));
                }
            }
        }
        if *kind == "string" {
            if let Err(e) = record.read(&Reader::new(None, Some((key, MARKER)))) {
                let values = JobStatus::ALL.iter().map(|s| s.as_str()).filter(|v| record.read(&Reader::new(None, Some((key, v)))).is_ok());
                field.push(("values".into(), Json::Arr(values.map(Json::str).collect())));
                field.push(("invalid".into(), Json::Str(e.replace(MARKER, "{}"))));
            }
        }
        out.push(Json::Obj(field));
    }
    let order = reads
        .iter()
        .map(|key| written.iter().position(|(k, ..)| k == key).map(|i| Json::Num(i as f64)).ok_or_else(|| format!("'{key}' is read but never written")))
        .collect::<Result<_, _>>()?;
    Ok((out, order))
}

/// The schema as a JSON tree; an error names what could not be probed.
pub fn schema() -> Result<Json, String> {
    let mut tags = Vec::new();
    let mut refused = Vec::new();
    let mut types: Vec<(String, Json)> = Vec::new();
    let mut aliases = Vec::new();
    for name in NAMES {
        for module in MODULES {
            let tag = format!("{module}{name}");
            if class_of(&tag) != Some(name) {
                continue;
            }
            match read_message::<Probe>(name, &Reader::new(None, None)) {
                Err(e) => {
                    refused.push((tag, Json::str(&e)));
                    if !refused.iter().any(|(k, _)| k == name) {
                        refused.push((name.to_string(), Json::Str(e)));
                    }
                }
                Ok(None) => return Err(format!("{name} is in NAMES but not in the catalogue")),
                Ok(Some(m)) => {
                    let type_name = m.type_name();
                    tags.push((tag, Json::str(type_name)));
                    if type_name != *name {
                        if !aliases.iter().any(|(a, _)| a == name) {
                            aliases.push((name.to_string(), Json::str(type_name)));
                        }
                        continue;
                    }
                    if types.iter().any(|(t, _)| t == type_name) {
                        continue;
                    }
                    let (fields, reads) = fields(&MessageRecord(name))?;
                    let entry = Json::Obj(vec![("tag".into(), Json::Str(tag_for(type_name))), ("fields".into(), Json::Arr(fields)), ("reads".into(), Json::Arr(reads))]);
                    types.push((type_name.to_string(), entry));
                }
            }
        }
    }
    // An alias reads as the type it names: the same fields.
    for (alias, type_name) in &aliases {
        let Json::Str(type_name) = type_name else { continue };
        let Some((_, entry)) = types.iter().find(|(t, _)| t == type_name) else {
            return Err(format!("{alias} reads as {type_name}, which is never read under its own name"));
        };
        if Some(&Json::Arr(fields(&MessageRecord(alias))?.0)) != entry.get("fields") {
            return Err(format!("{alias} does not read as {type_name} does"));
        }
    }
    let limits = Limits::default();
    Ok(Json::Obj(vec![
        ("bytesTag".into(), Json::str(BYTES_TAG)),
        ("entryTag".into(), Json::str(ENTRY_TAG)),
        ("directionTag".into(), Json::str(DIRECTION_TAG)),
        ("directions".into(), Json::Arr(FrameDirection::ALL.iter().map(|d| Json::str(d.as_str())).collect())),
        ("maxBytes".into(), Json::Num(limits.max_bytes as f64)),
        ("maxDepth".into(), Json::Num(limits.max_depth as f64)),
        ("entry".into(), Json::Arr(fields(&EntryRecord)?.0)),
        ("tags".into(), Json::Obj(tags)),
        ("aliases".into(), Json::Obj(aliases)),
        ("refused".into(), Json::Obj(refused)),
        ("types".into(), Json::Obj(types)),
    ]))
}

/// The schema as JSON text.
pub fn schema_text() -> Result<String, String> {
    // Every number in it is a whole one (indexes, limits, defaults).
    Ok(to_text(&schema()?, &|n| (n as i64).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(schema: &'a Json, type_name: &str, key: &str) -> &'a Json {
        let Some(Json::Arr(fields)) = schema.get("types").and_then(|t| t.get(type_name)).and_then(|t| t.get("fields")) else { panic!("{type_name}") };
        fields.iter().find(|f| f.get("key") == Some(&Json::str(key))).unwrap_or_else(|| panic!("{type_name}.{key}"))
    }

    #[test]
    fn the_schema_holds_every_rule_of_the_catalogue() {
        let s = schema().unwrap();
        let Some(Json::Obj(types)) = s.get("types") else { panic!() };
        assert_eq!(types.len(), 30, "every type that crosses a wire");
        let job_id = field(&s, "BusJobRequestMessage", "job_id");
        assert_eq!(job_id.get("required"), Some(&Json::str("'job_id' is missing")));
        assert_eq!(job_id.get("name"), Some(&Json::str("jobId")));
        assert_eq!(field(&s, "BusJobRequestMessage", "payload").get("kind"), Some(&Json::str("value")));
        assert_eq!(field(&s, "BusJobRequestMessage", "payload").get("required"), None);
        assert_eq!(field(&s, "BusTTSSpeakMessage", "append_to_context").get("default"), Some(&Json::Bool(true)));
        assert_eq!(field(&s, "BusFrameMessage", "frame").get("default"), Some(&Json::Obj(vec![])));
        assert_eq!(field(&s, "BusFrameMessage", "direction").get("default"), Some(&Json::str("DOWNSTREAM")));
        assert_eq!(field(&s, "BusUIJobUpdateMessage", "at").get("default"), Some(&Json::Num(0.0)));
        assert_eq!(field(&s, "BusUIEventMessage", "event_name").get("default"), Some(&Json::str("")));
        assert_eq!(field(&s, "BusWorkerReadyMessage", "started_at").get("kind"), Some(&Json::str("time")));
        let status = field(&s, "BusJobResponseUrgentMessage", "status");
        assert_eq!(status.get("values"), Some(&Json::Arr(["completed", "cancelled", "failed", "error"].map(Json::str).to_vec())));
        assert_eq!(status.get("invalid"), Some(&Json::str("unknown job status '{}'")));
        assert_eq!(field(&s, "BusUIJobCompletedMessage", "status").get("values"), None, "any string");
        // source first on the wire, but read after the body (the body's errors come first)
        let Some(Json::Arr(reads)) = s.get("types").and_then(|t| t.get("BusJobCancelMessage")).and_then(|t| t.get("reads")) else { panic!() };
        assert_eq!(reads, &[2.0, 3.0, 0.0, 1.0, 4.0, 5.0].map(Json::Num).to_vec());
        // workbus's pool routing: optional strings after Pipecat's fields; a retry's number
        assert_eq!(field(&s, "BusJobCancelMessage", "target_runner").get("required"), None);
        assert_eq!(field(&s, "BusJobResponseMessage", "source_runner").get("name"), Some(&Json::str("sourceRunner")));
        assert_eq!(field(&s, "BusJobRequestMessage", "attempt").get("kind"), Some(&Json::str("number")));
        let tags = s.get("tags").unwrap();
        assert_eq!(tags.get("pipecat.bus.messages.BusMessage"), Some(&Json::str("BusDataMessage")));
        assert_eq!(tags.get("pipecat.bus.ui.messages.BusDataMessage"), Some(&Json::str("BusDataMessage")));
        assert_eq!(tags.get("pipecat.bus.ui.messages.BusJobRequestMessage"), None, "a class only in its own module");
        assert_eq!(tags.get("pipecat.bus.messages.BusUIEventMessage"), None);
        assert_eq!(s.get("aliases"), Some(&Json::Obj(vec![("BusMessage".into(), Json::str("BusDataMessage")), ("BusUIDataMessage".into(), Json::str("BusDataMessage"))])));
        let refused = s.get("refused").unwrap();
        assert!(matches!(refused.get("pipecat.bus.messages.BusAddWorkerMessage"), Some(Json::Str(e)) if e.contains("local-only")));
        assert!(matches!(refused.get("BusWorkerLocalErrorMessage"), Some(Json::Str(e)) if e.contains("local-only")));
        let Some(Json::Arr(entry)) = s.get("entry") else { panic!() };
        assert_eq!(entry.iter().map(|f| f.get("name").cloned().unwrap()).collect::<Vec<_>>(), ["name", "parent", "active", "bridged", "startedAt"].map(Json::str).to_vec());
        assert!(schema_text().unwrap().starts_with("{\"bytesTag\":\"bytes\""));
    }
}
