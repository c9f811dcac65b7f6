//! The wasm-bindgen layer: JavaScript values as payloads, `setTimeout` timers, `spawn_local`
//! tasks, a pluggable logger, and the `Core*` classes the JS façade (`js/`, its public names
//! re-exported by `js/workbus.js`) wraps.
//! It adapts only: every rule lives in `crate::core`.

// One module per exported class (`CoreBus`, `CoreGroup`, …), plus the helpers they share.
mod bus;
mod convert;
mod group;
mod registry;
mod requester;
mod runner;
mod shared;
mod wire;
mod worker;

use crate::core::message::SharedStr;
use crate::core::platform::{LogLevel, Platform};
use crate::core::Value;
use futures::future::LocalBoxFuture;
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(callback: &Function, ms: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    /// A settled promise, whose `then(callback)` (its result unused) is how the engine's tasks
    /// get a microtask.
    type SettledPromise;
    #[wasm_bindgen(method, js_name = then)]
    fn then_run(this: &SettledPromise, callback: &Closure<dyn FnMut(JsValue)>);
    /// `Array.of(a, b, c, d, e, f)`: a short array in one call (`collect` pushes one by one).
    #[wasm_bindgen(js_namespace = Array, js_name = of)]
    pub(crate) fn array_of6(a: &JsValue, b: &JsValue, c: &JsValue, d: &JsValue, e: &JsValue, f: &JsValue) -> Array;
}

/// Sets `obj[key] = value` on a plain object we just created (cannot fail).
pub(crate) fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &interned(key), value);
}

pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &interned(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// How many ids `recent_id` keeps.
const RECENT_IDS: usize = 8;

/// `id` as a JavaScript string, reusing one made lately: a job's id leaves wasm a second time
/// soon after the first (in its request, then to its context; on both sides of a link in one
/// realm), and ids are too many to intern. Inside a realm the id is shared through the job's
/// bookkeeping, so it is usually the very same string.
pub(crate) fn recent_id(id: &SharedStr) -> JsValue {
    recent(|known| known.same_as(id) || same_text(known, id), || id.clone())
}

/// [`recent_id`] for an id as text (a link's message).
pub(crate) fn recent_id_text(id: &str) -> JsValue {
    recent(|known| same_text(known, id), || SharedStr::from(id))
}

/// Ids of one requester differ only in their last characters (a counter): compared from the
/// end, different ids differ at once.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().rev().zip(b.bytes().rev()).all(|(x, y)| x == y)
}

fn recent(is_it: impl Fn(&SharedStr) -> bool, keep: impl FnOnce() -> SharedStr) -> JsValue {
    RECENT.with(|recent| {
        if let Some((_, s)) = recent.borrow().iter().rev().find(|(known, _)| is_it(known)) {
            return s.clone();
        }
        let id = keep();
        let s = JsValue::from_str(&id);
        let mut recent = recent.borrow_mut();
        if recent.len() == RECENT_IDS {
            recent.pop_front();
        }
        recent.push_back((id, s.clone()));
        s
    })
}

/// How many distinct strings `interned` keeps; later ones are made afresh each time.
const INTERNED_LIMIT: usize = 512;

/// `key` as a JavaScript string, made once per realm. Every string that leaves wasm is decoded
/// by a `TextDecoder` call (about a microsecond in Chromium), and a message crossing a link
/// carries a dozen property names and type names: the same few strings, over and over.
pub(crate) fn interned(key: &str) -> JsValue {
    INTERNED.with(|strings| {
        if let Some(s) = strings.borrow().get(key) {
            return s.clone();
        }
        let s = JsValue::from_str(key);
        let mut strings = strings.borrow_mut();
        if strings.len() < INTERNED_LIMIT {
            strings.insert(key.to_owned(), s.clone());
        }
        s
    })
}

pub(crate) fn opt(v: Option<JsValue>) -> JsValue {
    v.unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn opt_str(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

/// `String(v)`, as JavaScript would write it.
pub(crate) fn js_string(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    let string = get(&js_sys::global(), "String");
    string.dyn_ref::<Function>().and_then(|f| f.call1(&JsValue::UNDEFINED, v).ok()).and_then(|s| s.as_string()).unwrap_or_default()
}

/// `e.message ?? String(e)`: what a thrown value says.
pub(crate) fn error_message(e: &JsValue) -> String {
    let message = get(e, "message");
    if message.is_undefined() || message.is_null() {
        js_string(e)
    } else {
        js_string(&message)
    }
}

impl Value for JsValue {
    fn empty_object() -> Self {
        Object::new().into()
    }
    fn error_object(message: &str) -> Self {
        let o = Object::new();
        set(&o, "error", &JsValue::from_str(message));
        o.into()
    }
    fn reason_object(reason: &str) -> Self {
        let o = Object::new();
        set(&o, "reason", &JsValue::from_str(reason));
        o.into()
    }
    fn string_field(&self, key: &str) -> Option<String> {
        get(self, key).as_string()
    }
    fn is_nullish(&self) -> bool {
        self.is_null_or_undefined()
    }
    fn error_from_message(message: &str) -> Self {
        js_sys::Error::new(message).into()
    }
}

/// Random bytes are fetched in batches: one `getRandomValues` call per 256 job ids.
const RANDOM_BATCH: u32 = 4096;

fn refill(pool: &mut Vec<u8>) {
    let crypto = get(&js_sys::global(), "crypto");
    let array = js_sys::Uint8Array::new_with_length(RANDOM_BATCH);
    let filled = get(&crypto, "getRandomValues").dyn_into::<Function>().is_ok_and(|f| f.call1(&crypto, &array).is_ok());
    if filled {
        pool.resize(RANDOM_BATCH as usize, 0);
        array.copy_to(pool);
    } else {
        pool.extend((0..RANDOM_BATCH).map(|_| (js_sys::Math::random() * 256.0) as u8));
    }
}

thread_local! {
    static RANDOM: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static LOGGER: RefCell<Option<Function>> = const { RefCell::new(None) };
    static RECENT: RefCell<std::collections::VecDeque<(SharedStr, JsValue)>> = const { RefCell::new(std::collections::VecDeque::new()) };
    static INTERNED: RefCell<crate::core::hash::HashMap<String, JsValue>> = RefCell::new(Default::default());
    static PLATFORM: Rc<JsPlatform> = Rc::new(JsPlatform);
}

pub(crate) fn env() -> crate::core::platform::Env {
    PLATFORM.with(|p| p.clone())
}

/// Installs the panic hook once the module is instantiated: a panic is a bug in the engine, and
/// its message and place go to the logger before the module traps.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| log(LogLevel::Error, &crate::core::platform::describe_panic(info))));
}

/// Routes the engine's log lines to `logger(level, message)`; `null` restores the console.
#[wasm_bindgen(js_name = setLogger)]
pub fn set_logger(logger: Option<Function>) {
    LOGGER.with(|l| *l.borrow_mut() = logger);
}

pub(crate) fn log(level: LogLevel, message: &str) {
    let level_name = match level {
        LogLevel::Debug => "debug",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let logger = LOGGER.with(|l| l.borrow().clone());
    match logger {
        Some(f) => {
            let _ = f.call2(&JsValue::UNDEFINED, &JsValue::from_str(level_name), &JsValue::from_str(message));
        }
        None if level != LogLevel::Debug => {
            let console = get(&js_sys::global(), "console");
            if let Ok(f) = get(&console, if level == LogLevel::Error { "error" } else { "warn" }).dyn_into::<Function>() {
                let _ = f.call1(&console, &JsValue::from_str(&format!("[workbus] {message}")));
            }
        }
        None => {}
    }
}

struct JsPlatform;

/// A `setTimeout` as a future; dropping it clears the timer.
struct Sleep {
    handle: JsValue,
    resolve: Option<Function>,
    done: JsFuture,
}

impl Drop for Sleep {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
        // Settle the promise anyway: a promise left pending keeps the future's callbacks alive.
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

impl std::future::Future for Sleep {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.done).poll(cx).map(|_| ())
    }
}

impl Platform for JsPlatform {
    fn now(&self) -> f64 {
        js_sys::Date::now()
    }
    fn sleep(&self, ms: f64, keep_alive: bool) -> LocalBoxFuture<'static, ()> {
        let mut handle = JsValue::UNDEFINED;
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _| {
            resolver = Some(resolve.clone());
            handle = match set_timeout(&resolve, ms) {
                Ok(h) => h,
                Err(e) => {
                    // e.g. workerd outside a request: this timer never fires, and says why.
                    log(LogLevel::Error, &format!("setTimeout is not available here, a timer of {} ms will not fire: {}", ms as u64, error_message(&e)));
                    return;
                }
            };
            if !keep_alive {
                // Node: an idle timer must not keep the process alive.
                if let Ok(unref) = get(&handle, "unref").dyn_into::<Function>() {
                    let _ = unref.call0(&handle);
                }
            }
        });
        Box::pin(Sleep { handle, resolve: resolver, done: JsFuture::from(promise) })
    }
    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        tasks::spawn(task);
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        RANDOM.with(|pool| {
            let mut pool = pool.borrow_mut();
            let mut filled = 0;
            while filled < buf.len() {
                if pool.is_empty() {
                    refill(&mut pool);
                }
                let take = pool.len().min(buf.len() - filled);
                let rest = pool.len() - take;
                buf[filled..filled + take].copy_from_slice(&pool[rest..]);
                pool.truncate(rest);
                filled += take;
            }
        });
    }
    fn log(&self, level: LogLevel, message: &str) {
        log(level, message);
    }
}

/// The engine's tasks (lanes, handlers that wait, sends, timers): polled in a microtask, as
/// wasm-bindgen-futures' `spawn_local` does, but scheduled with `then` on a settled promise:
/// in Node, `queueMicrotask` costs several times more (it makes an async resource per call),
/// and the engine schedules a microtask for each hop of a message.
mod tasks {
    use super::{Promise, SettledPromise};
    use futures::future::LocalBoxFuture;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::task::{Context, RawWaker, RawWakerVTable, Waker};
    use wasm_bindgen::prelude::*;

    struct Task {
        /// `None` once it has completed.
        future: RefCell<Option<LocalBoxFuture<'static, ()>>>,
        /// In the queue already: waking it again changes nothing.
        queued: Cell<bool>,
    }

    struct Queue {
        tasks: RefCell<VecDeque<Rc<Task>>>,
        /// A microtask is on its way to run the queue.
        scheduled: Cell<bool>,
        settled: SettledPromise,
        run: Closure<dyn FnMut(JsValue)>,
    }

    thread_local! {
        static QUEUE: Queue = Queue {
            tasks: RefCell::new(VecDeque::new()),
            scheduled: Cell::new(false),
            settled: Promise::resolve(&JsValue::UNDEFINED).unchecked_into(),
            run: Closure::new(|_| run_all()),
        };
    }

    pub fn spawn(future: LocalBoxFuture<'static, ()>) {
        schedule(Rc::new(Task { future: RefCell::new(Some(future)), queued: Cell::new(false) }));
    }

    fn schedule(task: Rc<Task>) {
        if task.queued.replace(true) {
            return;
        }
        QUEUE.with(|q| {
            q.tasks.borrow_mut().push_back(task);
            if !q.scheduled.replace(true) {
                q.settled.then_run(&q.run);
            }
        });
    }

    /// Runs the tasks queued before this microtask; those woken meanwhile run in the next one.
    fn run_all() {
        let mut left = QUEUE.with(|q| {
            q.scheduled.set(false);
            q.tasks.borrow().len()
        });
        while left > 0 {
            left -= 1;
            let Some(task) = QUEUE.with(|q| q.tasks.borrow_mut().pop_front()) else { break };
            task.queued.set(false);
            let waker = waker(&task);
            let mut cx = Context::from_waker(&waker);
            // Only this function polls, and never re-entrantly (it runs from a microtask).
            let mut future = task.future.borrow_mut();
            if future.as_mut().is_some_and(|f| f.as_mut().poll(&mut cx).is_ready()) {
                *future = None;
            }
        }
    }

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

    fn waker(task: &Rc<Task>) -> Waker {
        // SAFETY: the pointer is an `Rc<Task>` given to the waker, which the vtable's functions
        // count and release as an `Rc`; everything runs on one thread.
        unsafe { Waker::from_raw(RawWaker::new(Rc::into_raw(task.clone()).cast(), &VTABLE)) }
    }
    unsafe fn clone(p: *const ()) -> RawWaker {
        Rc::increment_strong_count(p.cast::<Task>());
        RawWaker::new(p, &VTABLE)
    }
    unsafe fn wake(p: *const ()) {
        schedule(Rc::from_raw(p.cast::<Task>()));
    }
    unsafe fn wake_by_ref(p: *const ()) {
        Rc::increment_strong_count(p.cast::<Task>());
        schedule(Rc::from_raw(p.cast::<Task>()));
    }
    unsafe fn drop_waker(p: *const ()) {
        drop(Rc::from_raw(p.cast::<Task>()));
    }
}
