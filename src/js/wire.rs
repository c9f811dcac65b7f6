//! Shared-secret sealing for the JavaScript codec of Pipecat's JSON (`js/wire.js`, whose tables
//! are generated from the engine: `crate::wire::schema`).

use crate::wire::{self, Json};
use wasm_bindgen::prelude::*;

/// How old a sealed message may be (clock skew included).
const SEAL_MAX_AGE_MS: f64 = 60_000.0;

/// `sealMessage(secret, text)`: Pipecat JSON text in a sealed wrapper, for a link with a secret.
#[wasm_bindgen(js_name = sealMessage)]
pub fn seal_message(secret: &str, text: &str) -> String {
    wire::auth::seal(secret, text, js_sys::Date::now())
}

/// `openSealed(secret, t, mac, msg)`: the message text of a sealed wrapper (its fields as
/// parsed), or throws a string saying why it is refused.
#[wasm_bindgen(js_name = openSealed)]
pub fn open_sealed(secret: &str, t: JsValue, mac: JsValue, msg: JsValue) -> Result<String, JsValue> {
    let mut fields = Vec::new();
    if let Some(t) = t.as_f64() {
        fields.push(("t".to_string(), Json::Num(t)));
    }
    if let Some(mac) = mac.as_string() {
        fields.push(("mac".to_string(), Json::Str(mac)));
    }
    if let Some(msg) = msg.as_string() {
        fields.push(("msg".to_string(), Json::Str(msg)));
    }
    wire::auth::open(secret, &Json::Obj(fields), js_sys::Date::now(), SEAL_MAX_AGE_MS).map_err(|e| JsValue::from_str(&e))
}
