//! Pipecat's JSON envelope for JavaScript values: `Uint8Array` (and `ArrayBuffer`) are bytes,
//! JSON text goes through the host's `JSON.parse`, and the encoder writes the text itself.

use super::{convert, error_message, get, set};
use crate::core::message::Message;
use crate::wire::{self, Json, Limits, WireValue, BYTES_TAG};
use js_sys::{Array, ArrayBuffer, Object, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

impl WireValue for JsValue {
    fn to_json(&self) -> Result<Json, String> {
        to_json(self, 0, Limits::default().max_depth, true)
    }
    fn from_json(json: &Json) -> Self {
        from_json(json)
    }
}

/// JS value → JSON tree. With `bytes`, binary data becomes Pipecat's bytes envelope; without,
/// the value is taken literally (a parsed JSON text).
fn to_json(v: &JsValue, depth: usize, max_depth: usize, bytes: bool) -> Result<Json, String> {
    if depth > max_depth {
        return Err(format!("nested deeper than {max_depth} levels"));
    }
    if v.is_null() || v.is_undefined() || v.is_function() {
        return Ok(Json::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Json::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return Ok(Json::Num(n));
    }
    if let Some(s) = v.as_string() {
        return Ok(Json::Str(s));
    }
    if v.is_bigint() || v.is_symbol() {
        return Err("a bigint or symbol cannot be sent as JSON".into());
    }
    if bytes {
        // A real view, not an object that merely has Uint8Array's prototype.
        if let Some(a) = v.dyn_ref::<Uint8Array>().filter(|_| ArrayBuffer::is_view(v)) {
            return Ok(Json::typed(BYTES_TAG, Json::Str(wire::base64_encode(&a.to_vec()))));
        }
        if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
            return Ok(Json::typed(BYTES_TAG, Json::Str(wire::base64_encode(&Uint8Array::new(b).to_vec()))));
        }
    }
    if Array::is_array(v) {
        return Array::from(v).iter().map(|item| to_json(&item, depth + 1, max_depth, bytes)).collect::<Result<_, _>>().map(Json::Arr);
    }
    let to_json_method = get(v, "toJSON");
    if to_json_method.is_function() {
        let f: &js_sys::Function = to_json_method.unchecked_ref();
        let plain = f.call0(v).map_err(|e| error_message(&e))?;
        return to_json(&plain, depth + 1, max_depth, bytes);
    }
    let obj: &Object = v.unchecked_ref();
    Object::keys(obj)
        .iter()
        .map(|k| {
            let key = k.as_string().unwrap_or_default();
            Ok((key.clone(), to_json(&get(v, &key), depth + 1, max_depth, bytes)?))
        })
        .collect::<Result<_, String>>()
        .map(Json::Obj)
}

/// JSON tree → JS value; the bytes envelope becomes a `Uint8Array`, other typed values stay
/// `{ __type__, __data__ }` objects.
fn from_json(json: &Json) -> JsValue {
    if let Some((BYTES_TAG, Json::Str(text))) = json.as_typed() {
        if let Some(bytes) = wire::base64_decode(text) {
            return Uint8Array::from(bytes.as_slice()).into();
        }
    }
    match json {
        Json::Null => JsValue::NULL,
        Json::Bool(b) => JsValue::from_bool(*b),
        Json::Num(n) => JsValue::from_f64(*n),
        Json::Str(s) => JsValue::from_str(s),
        Json::Arr(items) => items.iter().map(from_json).collect::<Array>().into(),
        Json::Obj(fields) => {
            let o = Object::new();
            for (k, v) in fields {
                if k == "__proto__" {
                    // An own property, as JSON means it, never the object's prototype.
                    let descriptor = Object::new();
                    set(&descriptor, "value", &from_json(v));
                    set(&descriptor, "enumerable", &JsValue::TRUE);
                    set(&descriptor, "writable", &JsValue::TRUE);
                    set(&descriptor, "configurable", &JsValue::TRUE);
                    Object::define_property(&o, &JsValue::from_str(k), &descriptor);
                } else {
                    set(&o, k, &from_json(v));
                }
            }
            o.into()
        }
    }
}

fn float_text(n: f64) -> String {
    js_sys::Number::from(n).to_string_with_radix(10).map(String::from).unwrap_or_else(|_| "null".into())
}

/// A message in Pipecat's JSON text.
pub fn encode(message: &Message<JsValue>) -> Result<String, String> {
    Ok(wire::to_text(&wire::encode(message)?, &float_text))
}

/// Pipecat's JSON text as a tree, within the limits.
pub fn parse(text: &str, limits: Limits) -> Result<Json, String> {
    if text.len() > limits.max_bytes {
        return Err(format!("message of {} bytes is over the limit of {}", text.len(), limits.max_bytes));
    }
    let parsed = js_sys::JSON::parse(text).map_err(|e| format!("invalid JSON: {}", error_message(&e)))?;
    let tree = to_json(&parsed, 0, limits.max_depth, false)?;
    if wire::depth(&tree) > limits.max_depth {
        return Err(format!("nested deeper than {} levels", limits.max_depth));
    }
    Ok(tree)
}

/// A message from Pipecat's JSON text: `Ok(None)` for a type outside the catalogue.
pub fn decode(text: &str, limits: Limits) -> Result<Option<Message<JsValue>>, String> {
    wire::decode(&parse(text, limits)?)
}

/// A message from a sealed wrapper (a link with a shared secret).
pub fn decode_sealed(text: &str, secret: &str, limits: Limits, now_ms: f64) -> Result<Option<Message<JsValue>>, String> {
    let inner = wire::auth::open(secret, &parse(text, limits)?, now_ms, SEAL_MAX_AGE_MS)?;
    decode(&inner, limits)
}

/// How old a sealed message may be (clock skew included).
const SEAL_MAX_AGE_MS: f64 = 60_000.0;

/// `encodeMessage(message)`: a message object (as listeners see it) in Pipecat's JSON text.
#[wasm_bindgen(js_name = encodeMessage)]
pub fn encode_message(message: JsValue) -> Result<String, JsValue> {
    let m = convert::message_from(&message).map_err(|e| js_sys::TypeError::new(&format!("message: {e}")))?;
    encode(&m).map_err(|e| js_sys::TypeError::new(&format!("message: {e}")).into())
}

/// `decodeMessage(text)`: a message object, `null` for a type outside Pipecat's catalogue.
#[wasm_bindgen(js_name = decodeMessage)]
pub fn decode_message(text: &str, max_bytes: Option<f64>, max_depth: Option<f64>) -> Result<JsValue, JsValue> {
    match decode(text, limits(max_bytes, max_depth)) {
        Ok(Some(m)) => Ok(convert::message(&m)),
        Ok(None) => Ok(JsValue::NULL),
        Err(e) => Err(js_sys::Error::new(&format!("malformed Pipecat message: {e}")).into()),
    }
}

pub fn limits(max_bytes: Option<f64>, max_depth: Option<f64>) -> Limits {
    let d = Limits::default();
    Limits { max_bytes: max_bytes.map(|b| b as usize).unwrap_or(d.max_bytes), max_depth: max_depth.map(|b| b as usize).unwrap_or(d.max_depth) }
}
