//! The engine: bus, registry, workers, jobs and runner, independent of wasm-bindgen.
//!
//! Everything here is single-threaded (`Rc`/`RefCell`) and driven by futures spawned on an
//! injected [`platform::Platform`], so the same rules run under `setTimeout`/`spawn_local` in
//! JavaScript and under a virtual clock in host tests.

pub mod bus;
pub mod hash;
pub mod job;
pub mod message;
pub mod platform;
pub mod reasons;
pub mod registry;
pub mod runner;
pub mod shared_str;
pub mod sync;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod worker;

/// A payload value as the host sees it (a `JsValue` in JavaScript, JSON in host tests).
///
/// The engine never looks inside payloads except for the few rules that need to: an empty
/// object for "no response", `{ error }` for a failed handler and `{ reason }` of a cancel.
pub trait Value: Clone + 'static {
    /// `{}`: what Pipecat records for a response of `None`.
    fn empty_object() -> Self;
    /// `{ error: message }`: the response of a handler that threw.
    fn error_object(message: &str) -> Self;
    /// `{ reason: reason }`: the response of a job cancelled by its worker.
    fn reason_object(reason: &str) -> Self;
    /// The string at `key` if this is an object holding a string there.
    fn string_field(&self, key: &str) -> Option<String>;
    /// `null` or `undefined`: treated as an absent value.
    fn is_nullish(&self) -> bool;
    /// `new Error(message)`: the cause of a failure known only by its message (a Pipecat
    /// peer's `{ error }` response).
    fn error_from_message(message: &str) -> Self;
}

/// What a job handler threw: its message (for Pipecat's `{ error }` response) and, when the
/// host has one, the thrown value itself (the failure's `cause`).
#[derive(Clone, Debug)]
pub struct Thrown<V> {
    pub message: String,
    pub value: Option<V>,
}

impl<V> From<String> for Thrown<V> {
    fn from(message: String) -> Self {
        Thrown { message, value: None }
    }
}

impl<V> From<&str> for Thrown<V> {
    fn from(message: &str) -> Self {
        Thrown { message: message.to_string(), value: None }
    }
}

impl<V: Value> Thrown<V> {
    /// The thrown value, or an error made from the message.
    pub fn into_value(self) -> V {
        self.value.unwrap_or_else(|| V::error_from_message(&self.message))
    }
}

/// `Some(v)` unless `v` is nullish.
pub fn present<V: Value>(v: Option<V>) -> Option<V> {
    v.filter(|v| !v.is_nullish())
}

/// An error a public operation reports to its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A bad argument (a `TypeError` in JavaScript); the text names the argument.
    Type(String),
    /// Anything else (an `Error` in JavaScript).
    Error(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Type(m) | ApiError::Error(m) => f.write_str(m),
        }
    }
}
