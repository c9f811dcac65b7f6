//! Pipecat's JSON envelope against golden vectors written by the real `pipecat-ai` 1.14.0
//! (`tests/fixtures/generate_wire_vectors.py`): every message decodes to the right type and
//! encodes back to the same JSON. Our encodings are written to `target/wire-from-workbus.json`
//! for `tests/fixtures/check_wire_from_js.py`, which reads them with the real Pipecat.

use workbus::core::message::Message;
use workbus::core::testkit::TestValue as V;
use workbus::wire::{self, Json};

fn to_tree(v: &serde_json::Value) -> Json {
    match v {
        serde_json::Value::Null => Json::Null,
        serde_json::Value::Bool(b) => Json::Bool(*b),
        serde_json::Value::Number(n) => Json::Num(n.as_f64().unwrap()),
        serde_json::Value::String(s) => Json::Str(s.clone()),
        serde_json::Value::Array(a) => Json::Arr(a.iter().map(to_tree).collect()),
        serde_json::Value::Object(o) => Json::Obj(o.iter().map(|(k, v)| (k.clone(), to_tree(v))).collect()),
    }
}

fn parse(text: &str) -> Json {
    to_tree(&serde_json::from_str(text).unwrap())
}

/// The tree without Pipecat's per-process `id` and `name` of each message, and with numbers
/// rounded to what survives the seconds/milliseconds conversion.
fn comparable(json: &Json, top: bool) -> Json {
    match json {
        Json::Obj(fields) => Json::Obj(
            fields
                .iter()
                .filter(|(k, _)| !(top && (k == "id" || k == "name")))
                .map(|(k, v)| (k.clone(), comparable(v, top && k == "__data__")))
                .collect(),
        ),
        Json::Arr(items) => Json::Arr(items.iter().map(|v| comparable(v, false)).collect()),
        Json::Num(n) => Json::Num((n * 1e6).round() / 1e6),
        other => other.clone(),
    }
}

struct Vector {
    name: String,
    kind: String,
    json: String,
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pipecat-wire.json")).unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    list.iter()
        .map(|v| Vector { name: v["name"].as_str().unwrap().into(), kind: v["type"].as_str().unwrap().into(), json: v["json"].as_str().unwrap().into() })
        .collect()
}

fn float(n: f64) -> String {
    format!("{n}")
}

#[test]
fn every_golden_vector_decodes_to_its_type_and_encodes_back_to_the_same_json() {
    let mut out = Vec::new();
    let all = vectors();
    assert!(all.len() >= 50, "the fixture covers the catalogue");
    for v in &all {
        let tree = parse(&v.json);
        let decoded: Result<Option<Message<V>>, String> = wire::decode(&tree);
        if v.kind == "BusAddWorkerMessage" || v.kind == "BusWorkerLocalErrorMessage" {
            let e = decoded.err().unwrap_or_else(|| panic!("{}: local-only must be refused", v.name));
            assert!(e.contains("local-only"), "{}: {e}", v.name);
            continue;
        }
        let m = decoded.unwrap_or_else(|e| panic!("{}: {e}", v.name)).unwrap_or_else(|| panic!("{}: unknown type", v.name));
        let expected_type = if v.kind == "BusMessage" { "BusDataMessage" } else { v.kind.as_str() };
        assert_eq!(m.type_name(), expected_type, "{}", v.name);
        let encoded = wire::encode(&m).unwrap();
        if v.kind == expected_type {
            assert_eq!(comparable(&encoded, true), comparable(&tree, true), "{}: encode(decode(x)) != x", v.name);
        }
        out.push(serde_json::json!({ "name": v.name, "json": wire::to_text(&encoded, &float) }));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/wire-from-workbus.json");
    std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
}

#[test]
fn pipecat_examples_encode_exactly() {
    let request: Message<V> = Message::new(
        "parent",
        Some("worker".into()),
        workbus::core::message::Body::JobRequest { job_id: "t-1".into(), job_name: None, payload: Some(V::obj(&[("key", V::s("value"))])), attempt: None },
    );
    let text = wire::to_text(&comparable(&wire::encode(&request).unwrap(), true), &float);
    assert_eq!(text, r#"{"__type__":"pipecat.bus.messages.BusJobRequestMessage","__data__":{"source":"parent","target":"worker","job_id":"t-1","payload":{"key":"value"}}}"#);
    let bytes = V::obj(&[("audio", V::Bytes(vec![0, 1, 2]))]);
    let update: Message<V> = Message::new("w", Some("p".into()), workbus::core::message::Body::JobUpdate { job_id: "j".into(), update: Some(bytes.clone()), urgent: true });
    let json = wire::encode(&update).unwrap();
    assert_eq!(
        wire::to_text(json.get("__data__").unwrap().get("update").unwrap(), &float),
        r#"{"audio":{"__type__":"bytes","__data__":"AAEC"}}"#
    );
    let back: Message<V> = wire::decode(&json).unwrap().unwrap();
    assert_eq!(back.type_name(), "BusJobUpdateUrgentMessage");
    match back.body {
        workbus::core::message::Body::JobUpdate { update, .. } => assert_eq!(update, Some(bytes)),
        _ => unreachable!(),
    }
}

#[test]
fn decoding_never_resolves_tags_outside_the_table_and_names_what_is_wrong() {
    let unknown = parse(r#"{"__type__":"os.system","__data__":{"source":"x"}}"#);
    assert!(wire::decode::<V>(&unknown).unwrap().is_none());
    // a class outside the catalogue is unknown whatever its data
    for data in ["5", "null", "[1]", "{}"] {
        let other = parse(&format!(r#"{{"__type__":"pipecat.bus.messages.BusNoSuchMessage","__data__":{data}}}"#));
        assert!(wire::decode::<V>(&other).unwrap().is_none(), "{data}");
    }
    let plain = parse(r#"{"source":"x"}"#);
    assert!(wire::decode::<V>(&plain).unwrap_err().contains("not a typed message"));
    let missing = parse(r#"{"__type__":"pipecat.bus.messages.BusJobRequestMessage","__data__":{"source":"a"}}"#);
    assert_eq!(wire::decode::<V>(&missing).unwrap_err(), "'job_id' is missing");
    let wrong = parse(r#"{"__type__":"pipecat.bus.messages.BusJobResponseMessage","__data__":{"source":"a","job_id":"j","status":"done"}}"#);
    assert_eq!(wire::decode::<V>(&wrong).unwrap_err(), "unknown job status 'done'");
    let typed = parse(r#"{"__type__":"pipecat.bus.messages.BusWorkerErrorMessage","__data__":{"source":3,"error":"x"}}"#);
    assert_eq!(wire::decode::<V>(&typed).unwrap_err(), "'source' must be a string");
    let nested = parse(r#"{"__type__":"pipecat.bus.messages.BusJobUpdateMessage","__data__":{"source":"a","job_id":"j","update":{"__type__":"builtins.eval","__data__":"1+1"}}}"#);
    let m: Message<V> = wire::decode(&nested).unwrap().unwrap();
    match m.body {
        workbus::core::message::Body::JobUpdate { update: Some(u), .. } => {
            assert_eq!(u.get("__type__"), Some(&V::s("builtins.eval")), "carried as data, never resolved")
        }
        _ => unreachable!(),
    }
}

#[test]
fn base64_round_trips_and_rejects_garbage() {
    for len in 0..10 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 5) as u8).collect();
        assert_eq!(wire::base64_decode(&wire::base64_encode(&bytes)), Some(bytes));
    }
    assert_eq!(wire::base64_encode(b"\x00\x01\x02\x03"), "AAECAw==");
    assert_eq!(wire::base64_decode("A"), None);
    assert_eq!(wire::base64_decode("A$=="), None);
}

/// The JavaScript codec (`js/wire.js`) reads the wire's tables from `js/wire-schema.js`, which is
/// generated from the engine's definition of every message; this keeps the two the same.
/// `WORKBUS_UPDATE_SCHEMA=1 cargo test --test wire` rewrites it.
#[test]
fn the_javascript_codec_schema_is_generated_from_the_engine() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/js/wire-schema.js");
    let expected = format!(
        "// Generated from the engine's definition of every message (src/wire/schema.rs) by\n// `WORKBUS_UPDATE_SCHEMA=1 cargo test --test wire`; tests/wire.rs checks it is up to date. Do not edit.\nexport default {};\n",
        wire::schema::schema_text().unwrap()
    );
    if std::env::var("WORKBUS_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(actual == expected, "js/wire-schema.js is out of date: run WORKBUS_UPDATE_SCHEMA=1 cargo test --test wire");
}
