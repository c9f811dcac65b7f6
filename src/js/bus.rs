//! `CoreBus`: the embedded in-process bus, its observers and its links to other realms.

use super::convert;
use super::{env, error_message, opt};
use crate::core::bus::{Bus, Refusal};
use js_sys::Function;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The embedded in-process bus.
#[wasm_bindgen]
pub struct CoreBus {
    pub(super) bus: Bus<JsValue>,
}

#[wasm_bindgen]
impl CoreBus {
    #[wasm_bindgen(constructor)]
    pub fn new() -> CoreBus {
        CoreBus { bus: Bus::new(env()) }
    }
    /// `listener(message)` for every message routed through this bus, whatever its target;
    /// returns an id for `unobserve`.
    pub fn observe(&self, listener: Function) -> u32 {
        self.bus.observe(Rc::new(Observer { listener }))
    }
    pub fn unobserve(&self, id: u32) {
        self.bus.unobserve(id);
    }
    /// `sink(description, error)` for every message a link refused.
    #[wasm_bindgen(js_name = setRefusalSink)]
    pub fn set_refusal_sink(&self, sink: Function) {
        self.bus.on_refused(Some(Rc::new(move |message: &crate::core::message::Message<JsValue>, refusal: &Refusal<JsValue>| {
            let text = JsValue::from_str(&format!("a link refused {message}: {}", refusal.message));
            let _ = sink.call2(&JsValue::UNDEFINED, &text, &opt(refusal.cause.clone()));
        })));
    }
    /// Links another realm: `post(message)` carries what has to leave; returns the link's id.
    #[wasm_bindgen(js_name = addLink)]
    pub fn add_link(&self, post: Function) -> u32 {
        self.bus.add_link(Rc::new(JsLink { post }))
    }
    #[wasm_bindgen(js_name = removeLink)]
    pub fn remove_link(&self, id: u32) {
        self.bus.remove_link(id);
    }
    /// Delivers a message object that arrived through link `from`; a malformed one is
    /// dropped, and the reason returned.
    pub fn receive(&self, message: JsValue, from: u32) -> Option<String> {
        match convert::message_from(&message) {
            Ok(m) => {
                self.bus.receive(Rc::new(m), Some(from));
                None
            }
            Err(e) => Some(e),
        }
    }
}

/// A bus observer calling a JS listener with message objects.
struct Observer {
    pub(super) listener: Function,
}

impl crate::core::bus::Subscriber<JsValue> for Observer {
    fn on_message(self: Rc<Self>, message: &Rc<crate::core::message::Message<JsValue>>) -> crate::core::bus::Handling {
        self.listener.call1(&JsValue::UNDEFINED, &convert::message(message)).map(|_| None).map_err(|e| error_message(&e))
    }
}

/// What a link's thrown error means to the engine: a refusal keeping the error as its cause.
fn refused(e: JsValue) -> Refusal<JsValue> {
    Refusal { message: error_message(&e), cause: Some(e) }
}

/// A link to another realm, as a JS function that posts message objects.
struct JsLink {
    pub(super) post: Function,
}

impl crate::core::bus::Transport<JsValue> for JsLink {
    fn publish(&self, message: &Rc<crate::core::message::Message<JsValue>>) -> Result<(), Refusal<JsValue>> {
        self.post.call1(&JsValue::UNDEFINED, &convert::message_for_link(message)).map(|_| ()).map_err(refused)
    }
}

impl Default for CoreBus {
    fn default() -> Self {
        Self::new()
    }
}
