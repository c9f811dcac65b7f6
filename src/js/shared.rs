//! Helpers the `Core*` classes share: errors to JS, promises, settling thenables, job parameters.

use super::{error_message, set};
use crate::core::message::JobStatus;
use crate::core::worker::SendError;
use crate::core::ApiError;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A promise for a future; boxing first keeps one copy of the promise glue in the binary.
pub(super) fn future_to_promise(f: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    wasm_bindgen_futures::future_to_promise(Box::pin(f) as futures::future::LocalBoxFuture<'static, Result<JsValue, JsValue>>)
}

pub(super) fn to_js(e: ApiError) -> JsValue {
    match e {
        ApiError::Type(m) => js_sys::TypeError::new(&m).into(),
        ApiError::Error(m) => js_sys::Error::new(&m).into(),
    }
}

/// A refused update or stream chunk: an `Error` naming the job, with the link's error as `cause`.
pub(super) fn send_error(e: SendError<JsValue>) -> JsValue {
    match e {
        SendError::Api(e) => to_js(e),
        SendError::Refused(r) => {
            let error = js_sys::Error::new(&r.message);
            if let Some(cause) = r.cause {
                set(&error, "cause", &cause);
            }
            error.into()
        }
    }
}

pub(super) fn status(s: &str) -> Result<JobStatus, JsValue> {
    JobStatus::parse(s).ok_or_else(|| to_js(ApiError::Type(format!("status must be one of completed, cancelled, failed, error; got '{s}'"))))
}

pub(super) fn present(v: JsValue) -> Option<JsValue> {
    (!v.is_null_or_undefined()).then_some(v)
}

/// Awaits `v` if it is a thenable; a plain value is ready as it is.
pub(super) async fn settle(v: JsValue) -> Result<JsValue, JsValue> {
    // Primitives first (one call into JavaScript), then `then` itself: a plain object costs
    // three calls rather than five.
    let thenable = (v.is_object() || v.is_function()) && (Reflect::get(&v, &super::interned("then")).is_ok_and(|t| t.is_function()) || v.is_instance_of::<Promise>());
    if thenable {
        JsFuture::from(Promise::resolve(&v)).await
    } else {
        Ok(v)
    }
}

/// Calls a JS callback for its effect; a throw or a rejection is logged, never propagated.
pub(super) async fn call_logged(f: &Function, arg: &JsValue, what: &str) {
    let result = match f.call1(&JsValue::UNDEFINED, arg) {
        Ok(v) => settle(v).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        super::log(crate::core::platform::LogLevel::Error, &format!("{what} failed: {}", error_message(&e)));
    }
}
