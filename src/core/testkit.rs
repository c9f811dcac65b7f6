//! A deterministic host for engine tests: a virtual clock, a single-threaded executor, a
//! seeded random source, captured logs and a small JSON-like value type.

use super::platform::{LogLevel, Platform};
use super::Value;
use futures::executor::{LocalPool, LocalSpawner};
use futures::future::LocalBoxFuture;
use futures::task::LocalSpawnExt;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A JSON-like value for tests.
#[derive(Clone, Debug, PartialEq)]
pub enum TestValue {
    Null,
    Num(f64),
    Str(String),
    Bool(bool),
    Bytes(Vec<u8>),
    Arr(Vec<TestValue>),
    Obj(Vec<(String, TestValue)>),
}

impl TestValue {
    pub fn obj(pairs: &[(&str, TestValue)]) -> Self {
        TestValue::Obj(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }
    pub fn s(v: &str) -> Self {
        TestValue::Str(v.to_string())
    }
    pub fn get(&self, key: &str) -> Option<&TestValue> {
        match self {
            TestValue::Obj(p) => p.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl Value for TestValue {
    fn empty_object() -> Self {
        TestValue::Obj(Vec::new())
    }
    fn error_object(message: &str) -> Self {
        TestValue::obj(&[("error", TestValue::s(message))])
    }
    fn reason_object(reason: &str) -> Self {
        TestValue::obj(&[("reason", TestValue::s(reason))])
    }
    fn string_field(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(TestValue::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }
    fn is_nullish(&self) -> bool {
        matches!(self, TestValue::Null)
    }
    fn error_from_message(message: &str) -> Self {
        TestValue::obj(&[("name", TestValue::s("Error")), ("message", TestValue::s(message))])
    }
}

struct Timer {
    deadline: f64,
    seq: u64,
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The platform of a simulation: time only moves when the simulation advances it.
pub struct TestPlatform {
    now: Cell<f64>,
    timers: RefCell<Vec<std::rc::Weak<Timer>>>,
    next_seq: Cell<u64>,
    spawner: LocalSpawner,
    rng: Cell<u64>,
    pub logs: RefCell<Vec<(LogLevel, String)>>,
}

struct Sleep(Rc<Timer>);

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.get() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Platform for TestPlatform {
    fn now(&self) -> f64 {
        self.now.get()
    }
    fn sleep(&self, ms: f64, _keep_alive: bool) -> LocalBoxFuture<'static, ()> {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let timer = Rc::new(Timer { deadline: self.now.get() + ms.max(0.0), seq, fired: Cell::new(false), waker: RefCell::new(None) });
        self.timers.borrow_mut().push(Rc::downgrade(&timer));
        Box::pin(Sleep(timer))
    }
    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        self.spawner.spawn_local(task).expect("the simulation is running");
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        for b in buf {
            // xorshift64*: deterministic ids for reproducible tests
            let mut x = self.rng.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.set(x);
            *b = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
        }
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
}

/// A simulation: an executor plus its virtual clock.
pub struct Sim {
    pub env: Rc<TestPlatform>,
    pool: RefCell<LocalPool>,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub fn new() -> Self {
        Self::with_seed(0x9e37_79b9_7f4a_7c15)
    }

    pub fn with_seed(seed: u64) -> Self {
        let pool = LocalPool::new();
        let env = Rc::new(TestPlatform {
            now: Cell::new(1_700_000_000_000.0),
            timers: RefCell::new(Vec::new()),
            next_seq: Cell::new(0),
            spawner: pool.spawner(),
            rng: Cell::new(seed | 1),
            logs: RefCell::new(Vec::new()),
        });
        Sim { env, pool: RefCell::new(pool) }
    }

    pub fn env(&self) -> super::platform::Env {
        self.env.clone()
    }

    pub fn now(&self) -> f64 {
        self.env.now.get()
    }

    pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        self.env.spawn(Box::pin(task));
    }

    /// Runs every task that can run without time passing.
    pub fn settle(&self) {
        self.pool.borrow_mut().run_until_stalled();
    }

    /// Fires the earliest live timer (moving the clock to it); false when there is none.
    fn fire_next(&self, limit: Option<f64>) -> bool {
        let next = {
            let mut timers = self.env.timers.borrow_mut();
            timers.retain(|t| t.upgrade().is_some_and(|t| !t.fired.get()));
            timers
                .iter()
                .filter_map(|t| t.upgrade())
                .min_by(|a, b| a.deadline.total_cmp(&b.deadline).then(a.seq.cmp(&b.seq)))
        };
        match next {
            Some(t) if limit.is_none_or(|l| t.deadline <= l) => {
                if t.deadline > self.env.now.get() {
                    self.env.now.set(t.deadline);
                }
                t.fired.set(true);
                if let Some(w) = t.waker.borrow_mut().take() {
                    w.wake();
                }
                true
            }
            _ => false,
        }
    }

    /// Lets `ms` of virtual time pass, running everything due on the way.
    pub fn advance(&self, ms: f64) {
        let until = self.now() + ms;
        self.settle();
        while self.fire_next(Some(until)) {
            self.settle();
        }
        self.env.now.set(until);
        self.settle();
    }

    /// Runs `future` to completion, moving the clock from timer to timer as needed.
    /// Panics if it can never complete (pending with no timer left).
    pub fn block_on<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> T {
        let slot: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
        let out = slot.clone();
        self.spawn(async move {
            *out.borrow_mut() = Some(future.await);
        });
        loop {
            self.settle();
            if let Some(v) = slot.borrow_mut().take() {
                return v;
            }
            assert!(self.fire_next(None), "the future can never complete: nothing is left to run and no timer is pending");
        }
    }

    /// Log lines at `level` or above that contain `needle`.
    pub fn logged(&self, needle: &str) -> usize {
        self.env.logs.borrow().iter().filter(|(_, m)| m.contains(needle)).count()
    }
}

impl crate::wire::WireValue for TestValue {
    fn to_json(&self) -> Result<crate::wire::Json, String> {
        use crate::wire::Json;
        Ok(match self {
            TestValue::Null => Json::Null,
            TestValue::Num(n) => Json::Num(*n),
            TestValue::Str(s) => Json::Str(s.clone()),
            TestValue::Bool(b) => Json::Bool(*b),
            TestValue::Bytes(b) => Json::typed(crate::wire::BYTES_TAG, Json::Str(crate::wire::base64_encode(b))),
            TestValue::Arr(items) => Json::Arr(items.iter().map(|v| v.to_json()).collect::<Result<_, _>>()?),
            TestValue::Obj(fields) => Json::Obj(fields.iter().map(|(k, v)| Ok((k.clone(), v.to_json()?))).collect::<Result<_, String>>()?),
        })
    }
    fn from_json(json: &crate::wire::Json) -> Self {
        use crate::wire::Json;
        if let Some((crate::wire::BYTES_TAG, Json::Str(text))) = json.as_typed() {
            if let Some(bytes) = crate::wire::base64_decode(text) {
                return TestValue::Bytes(bytes);
            }
        }
        match json {
            Json::Null => TestValue::Null,
            Json::Bool(b) => TestValue::Bool(*b),
            Json::Num(n) => TestValue::Num(*n),
            Json::Str(s) => TestValue::Str(s.clone()),
            Json::Arr(items) => TestValue::Arr(items.iter().map(TestValue::from_json).collect()),
            Json::Obj(fields) => TestValue::Obj(fields.iter().map(|(k, v)| (k.clone(), TestValue::from_json(v))).collect()),
        }
    }
}

/// SplitMix64: the next number of a small seeded generator, for property tests and fuzzing.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
