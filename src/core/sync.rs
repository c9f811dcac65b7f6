//! Small single-threaded synchronisation primitives: a one-shot flag, a FIFO lane and an
//! abort token. No atomics and no locks: everything runs on one thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A flag that is set once; any number of futures can wait for it.
#[derive(Clone, Default)]
pub struct Flag(Rc<FlagState>);

#[derive(Default)]
struct FlagState {
    set: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Flag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn is_set(&self) -> bool {
        self.0.set.get()
    }
    pub fn set(&self) {
        if !self.0.set.replace(true) {
            let wakers = std::mem::take(&mut *self.0.wakers.borrow_mut());
            wakers.into_iter().for_each(Waker::wake);
        }
    }
    pub fn wait(&self) -> FlagWait {
        FlagWait(self.0.clone())
    }
    pub fn same_as(&self, other: &Flag) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

pub struct FlagWait(Rc<FlagState>);

impl Future for FlagWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.set.get() {
            Poll::Ready(())
        } else {
            let mut wakers = self.0.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

/// An unbounded FIFO with one consumer. Pushing never runs the consumer: it only wakes it.
pub struct Lane<T> {
    state: Rc<RefCell<LaneState<T>>>,
}

struct LaneState<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    closed: bool,
}

impl<T> Clone for Lane<T> {
    fn clone(&self) -> Self {
        Self { state: self.state.clone() }
    }
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Self { state: Rc::new(RefCell::new(LaneState { queue: VecDeque::new(), waker: None, closed: false })) }
    }
}

impl<T> Lane<T> {
    pub fn push(&self, item: T) -> bool {
        let waker = {
            let mut s = self.state.borrow_mut();
            if s.closed {
                return false;
            }
            s.queue.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
    /// No more items are accepted; the consumer still drains what is queued.
    pub fn close(&self) {
        let waker = {
            let mut s = self.state.borrow_mut();
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
    pub fn len(&self) -> usize {
        self.state.borrow().queue.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The next item, or `None` once closed and drained.
    pub fn next(&self) -> LaneNext<T> {
        LaneNext(self.state.clone())
    }
}

pub struct LaneNext<T>(Rc<RefCell<LaneState<T>>>);

impl<T> Future for LaneNext<T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.borrow_mut();
        if let Some(item) = s.queue.pop_front() {
            Poll::Ready(Some(item))
        } else if s.closed {
            Poll::Ready(None)
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Waits for whichever of two futures completes first; true when it was `a`. The other one
/// is dropped (which cancels it: timers are cleared, waits are abandoned).
pub async fn race(a: impl Future<Output = ()>, b: impl Future<Output = ()>) -> bool {
    futures::pin_mut!(a, b);
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() {
            Poll::Ready(true)
        } else if b.as_mut().poll(cx).is_ready() {
            Poll::Ready(false)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Yields once to the executor, letting every other ready task run first.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

type AbortListener = Box<dyn FnOnce(&str)>;

/// The engine's twin of `AbortSignal`: aborted once, with a reason, notifying listeners.
#[derive(Clone, Default)]
pub struct AbortToken(Rc<AbortState>);

#[derive(Default)]
struct AbortState {
    reason: RefCell<Option<String>>,
    listeners: RefCell<Vec<AbortListener>>,
    flag: Flag,
}

impl AbortToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn is_aborted(&self) -> bool {
        self.0.reason.borrow().is_some()
    }
    pub fn reason(&self) -> Option<String> {
        self.0.reason.borrow().clone()
    }
    pub fn abort(&self, reason: &str) {
        if self.is_aborted() {
            return;
        }
        *self.0.reason.borrow_mut() = Some(reason.to_string());
        let listeners = std::mem::take(&mut *self.0.listeners.borrow_mut());
        for listener in listeners {
            listener(reason);
        }
        self.0.flag.set();
    }
    /// Calls `f` on abort (at once if already aborted).
    pub fn on_abort(&self, f: impl FnOnce(&str) + 'static) {
        match self.reason() {
            Some(r) => f(&r),
            None => self.0.listeners.borrow_mut().push(Box::new(f)),
        }
    }
    pub fn wait(&self) -> FlagWait {
        self.0.flag.wait()
    }
}
