//! workbus: Pipecat's multi-worker job system for JavaScript, as a Rust engine compiled to wasm.
//!
//! `core` is the engine: plain Rust, no wasm-bindgen types, tested on the host with a virtual
//! clock. `js` adapts it to JavaScript (values, callbacks, promises, errors, timers); `boundary`
//! holds the codes and names the two sides of that adaptation share with the JS façade.

pub mod boundary;
pub mod core;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod js;
