//! The bus: named subscribers, two lanes each, and an optional transport to other runners.
//!
//! `send` only enqueues; every subscriber is called from its own lane tasks, never inline.
//! A targeted message goes straight to its target's lanes (cost does not grow with the number
//! of subscribers); a broadcast reaches every subscriber, the sender included. Each subscriber
//! has a system lane and a data lane, handled concurrently: a cancel never waits behind a slow
//! data handler, and a subscriber's error is logged without stopping its delivery.

use super::hash::{HashMap, HashSet};
use super::message::{Body, JobStatus, Lane as LaneKind, Message, SharedStr};
use super::platform::{Env, LogLevel};
use super::sync::{yield_now, Lane};
use super::Value;
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::rc::Rc;

/// What handling a message left to do: nothing, or a future the lane awaits.
pub type Handling = Result<Option<LocalBoxFuture<'static, Result<(), String>>>, String>;

pub trait Subscriber<V: Value> {
    fn on_message(self: Rc<Self>, message: &Rc<Message<V>>) -> Handling;
}

/// Carries non-local messages to other realms or processes (a postMessage endpoint, a
/// BroadcastChannel, a network bus).
pub trait Transport<V: Value> {
    /// Sends at once; `Err` when the link refuses the message (a value it cannot carry).
    fn publish(&self, message: &Rc<Message<V>>) -> Result<(), Refusal<V>>;
}

/// Why a link refused a message: what the host said, and its error object (a `DataCloneError`).
#[derive(Clone, Debug)]
pub struct Refusal<V: Value> {
    pub message: String,
    pub cause: Option<V>,
}

/// Told of every refused message (the bus's `"error"` event).
pub type RefusalSink<V> = Rc<dyn Fn(&Message<V>, &Refusal<V>)>;

/// Identifies one transport linked to a bus.
pub type LinkId = u32;

type Links<V> = Vec<(LinkId, Rc<dyn Transport<V>>)>;

pub struct Bus<V: Value>(Rc<BusInner<V>>);

impl<V: Value> Clone for Bus<V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct BusInner<V: Value> {
    env: Env,
    subscribers: RefCell<Subscribers<V>>,
    links: RefCell<Links<V>>,
    /// The next id for a link or an observer.
    next_id: std::cell::Cell<u32>,
    /// Names that left the bus: a job sent to one of them is answered "stopped", not lost.
    departed: RefCell<HashSet<String>>,
    on_refused: RefCell<Option<RefusalSink<V>>>,
    /// The runners on this bus: a message for one of their instances is delivered here.
    runners: RefCell<Vec<String>>,
    /// The link each remote runner was last heard through, so that a message for one runner's
    /// instance takes that link alone instead of every link.
    runner_links: RefCell<HashMap<String, LinkId>>,
}

struct Subscribers<V: Value> {
    by_name: HashMap<String, Rc<Subscription<V>>>,
    order: Vec<String>,
    /// See every message routed here, whatever its target (a bus log, a debugger).
    observers: Vec<(u32, Rc<Subscription<V>>)>,
}

/// A local-only action run in the data lane of its target, after whatever was queued there
/// before it (used to act on news only once earlier answers are handled). It is no message:
/// observers and links never see it.
pub type Deferred = Rc<dyn Fn()>;

/// What a lane carries: a message for its subscriber, or a deferred action.
enum Delivery<V: Value> {
    Message(Rc<Message<V>>),
    Deferred(Deferred),
}

struct Subscription<V: Value> {
    system: Lane<Delivery<V>>,
    data: Lane<Delivery<V>>,
}

impl<V: Value> Bus<V> {
    pub fn new(env: Env) -> Self {
        Bus(Rc::new(BusInner {
            env,
            subscribers: RefCell::new(Subscribers { by_name: HashMap::default(), order: Vec::new(), observers: Vec::new() }),
            links: RefCell::new(Vec::new()),
            next_id: std::cell::Cell::new(1),
            departed: RefCell::new(HashSet::default()),
            on_refused: RefCell::new(None),
            runners: RefCell::new(Vec::new()),
            runner_links: RefCell::new(HashMap::default()),
        }))
    }

    pub fn env(&self) -> &Env {
        &self.0.env
    }

    pub fn same_as(&self, other: &Bus<V>) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Links a transport: what this bus sends that has to leave goes through it, and what
    /// arrives from it is delivered here (and relayed to the other links).
    pub fn add_link(&self, transport: Rc<dyn Transport<V>>) -> LinkId {
        let id = self.next_id();
        self.0.links.borrow_mut().push((id, transport));
        id
    }

    pub fn remove_link(&self, id: LinkId) {
        self.0.links.borrow_mut().retain(|(i, _)| *i != id);
        self.0.runner_links.borrow_mut().retain(|_, link| *link != id);
    }

    /// A runner on this bus: messages routed to its instances are delivered here.
    pub fn add_runner(&self, name: &str) {
        self.0.runners.borrow_mut().push(name.to_string());
    }

    pub fn remove_runner(&self, name: &str) {
        let mut runners = self.0.runners.borrow_mut();
        if let Some(at) = runners.iter().position(|r| r == name) {
            runners.swap_remove(at);
        }
    }

    /// Whether `runner` was heard through a link that is still there.
    pub fn has_link_to(&self, runner: &str) -> bool {
        self.0.runner_links.borrow().contains_key(runner)
    }

    /// Whether a message addressed to `runner`'s instance is for another bus.
    fn is_elsewhere(&self, runner: &Option<SharedStr>) -> bool {
        runner.as_ref().is_some_and(|r| !self.0.runners.borrow().iter().any(|x| x == r.as_str()))
    }

    pub fn has_links(&self) -> bool {
        !self.0.links.borrow().is_empty()
    }

    pub fn is_subscribed(&self, name: &str) -> bool {
        self.0.subscribers.borrow().by_name.contains_key(name)
    }

    pub fn subscriber_names(&self) -> Vec<String> {
        self.0.subscribers.borrow().order.clone()
    }

    /// Adds a subscriber under a unique name and starts its two lanes.
    pub fn subscribe(&self, name: &str, subscriber: Rc<dyn Subscriber<V>>) -> Result<(), String> {
        if self.0.subscribers.borrow().by_name.contains_key(name) {
            return Err(format!("a subscriber named '{name}' is already on the bus"));
        }
        let subscription = self.start_lanes(subscriber);
        let mut subs = self.0.subscribers.borrow_mut();
        subs.by_name.insert(name.to_string(), subscription);
        subs.order.push(name.to_string());
        self.0.departed.borrow_mut().remove(name);
        Ok(())
    }

    /// A subscription's two lanes, each handled by its own task; the data lane lets pending
    /// system messages go first.
    fn start_lanes(&self, subscriber: Rc<dyn Subscriber<V>>) -> Rc<Subscription<V>> {
        let s = Rc::new(Subscription { system: Lane::default(), data: Lane::default() });
        let env = self.0.env.clone();
        env.spawn(Box::pin(run_lane(env.clone(), subscriber.clone(), s.system.clone(), None)));
        env.spawn(Box::pin(run_lane(env.clone(), subscriber, s.data.clone(), Some(s.system.clone()))));
        s
    }

    fn next_id(&self) -> u32 {
        let id = self.0.next_id.get();
        self.0.next_id.set(id + 1);
        id
    }

    /// Adds an observer: it gets every message routed through this bus (sent here or arriving
    /// on a link), whatever its target, in its own lanes. Returns an id for `unobserve`.
    pub fn observe(&self, observer: Rc<dyn Subscriber<V>>) -> u32 {
        let id = self.next_id();
        let s = self.start_lanes(observer);
        self.0.subscribers.borrow_mut().observers.push((id, s));
        id
    }

    pub fn unobserve(&self, id: u32) {
        let mut subs = self.0.subscribers.borrow_mut();
        if let Some(i) = subs.observers.iter().position(|(o, _)| *o == id) {
            let (_, s) = subs.observers.remove(i);
            s.system.close();
            s.data.close();
        }
    }

    /// Removes a subscriber. Messages already queued are still handled; later ones are not.
    pub fn unsubscribe(&self, name: &str) {
        let removed = {
            let mut subs = self.0.subscribers.borrow_mut();
            subs.order.retain(|n| n != name);
            subs.by_name.remove(name)
        };
        if let Some(s) = removed {
            s.system.close();
            s.data.close();
            self.0.departed.borrow_mut().insert(name.to_string());
        }
    }

    /// Where refused messages are reported (every refusal, whoever sent the message).
    pub fn on_refused(&self, sink: Option<RefusalSink<V>>) {
        *self.0.on_refused.borrow_mut() = sink;
    }

    /// Sends a message: to local subscribers, and through the links if it has to leave. A
    /// refusal is reported to the sink; senders that must act on it use [`Bus::try_send`].
    pub fn send(&self, message: Message<V>) {
        let _ = self.try_send(message);
    }

    /// [`Bus::send`], failing with the first refusal when the message had to leave and no link
    /// carried it.
    pub fn try_send(&self, message: Message<V>) -> Result<(), Refusal<V>> {
        self.route(Rc::new(message), None)
    }

    /// Delivers a message that arrived through link `from`, and relays it to the other links
    /// (so a page can join its workers to each other). Local-only messages cannot arrive from
    /// elsewhere and are dropped.
    pub fn receive(&self, message: Rc<Message<V>>, from: Option<LinkId>) {
        if message.is_local() {
            self.0.env.log(LogLevel::Warn, &format!("dropped a local-only message from a transport: {message}"));
            return;
        }
        if let (Some(link), Body::WorkerRegistry { runner, .. } | Body::WorkerReady { runner, .. }) = (from, &message.body) {
            self.0.runner_links.borrow_mut().insert(runner.clone(), link);
        }
        let _ = self.route(message, from);
    }

    /// Carries `message` through `links`; every refusal is reported. Fails (with the first
    /// refusal) only when no link carried it: a message that reached its target's realm through
    /// one link is sent, whatever another kind of link (say, a JSON one) could not carry.
    fn publish(&self, links: &[Rc<dyn Transport<V>>], message: &Rc<Message<V>>) -> Result<(), Refusal<V>> {
        let mut first = None;
        let mut carried = false;
        for t in links {
            match t.publish(message) {
                Ok(()) => carried = true,
                Err(refusal) => {
                    let sink = self.0.on_refused.borrow().clone();
                    match sink {
                        Some(sink) => sink(message, &refusal),
                        None => self.0.env.log(LogLevel::Error, &format!("a link refused {message}: {}", refusal.message)),
                    }
                    first.get_or_insert(refusal);
                }
            }
        }
        match first {
            Some(refusal) if !carried => Err(refusal),
            _ => Ok(()),
        }
    }

    /// Runs `action` in the data lane of subscriber `target`, after what is queued there now.
    /// `source` only names the sender in the log when `target` is not on the bus.
    pub fn defer(&self, source: &str, target: &str, action: Deferred) {
        let subscription = self.0.subscribers.borrow().by_name.get(target).cloned();
        match subscription {
            Some(s) => {
                s.data.push(Delivery::Deferred(action));
            }
            // Nobody to act for: a subscriber that left needs no news.
            None if self.0.departed.borrow().contains(target) => {}
            None => self.0.env.log(LogLevel::Debug, &format!("no subscriber for a deferred action (source={source}, target={target})")),
        }
    }

    fn route(&self, message: Rc<Message<V>>, from: Option<LinkId>) -> Result<(), Refusal<V>> {
        // No list to build for the usual bus without observers or links.
        if !self.0.subscribers.borrow().observers.is_empty() {
            let observers: Vec<Rc<Subscription<V>>> = self.0.subscribers.borrow().observers.iter().map(|(_, s)| s.clone()).collect();
            for o in &observers {
                enqueue(o, message.clone());
            }
        }
        let links: Vec<Rc<dyn Transport<V>>> = if message.is_local() || self.0.links.borrow().is_empty() {
            Vec::new()
        } else {
            self.0.links.borrow().iter().filter(|(id, _)| Some(*id) != from).map(|(_, t)| t.clone()).collect()
        };
        if self.is_elsewhere(&message.target_runner) {
            // For another runner's instance (a pool): never delivered here, and only through
            // the link that runner is behind, when known.
            let toward = message.target_runner.as_ref().and_then(|r| self.0.runner_links.borrow().get(r.as_str()).copied());
            let links: Vec<Rc<dyn Transport<V>>> = match toward {
                // It came from where that runner is: it is already there.
                Some(id) if Some(id) == from => Vec::new(),
                Some(id) => self.0.links.borrow().iter().filter(|(i, _)| *i == id).map(|(_, t)| t.clone()).collect(),
                None => links,
            };
            if links.is_empty() {
                self.0.env.log(LogLevel::Debug, &format!("no route for {message} to runner '{}'", message.target_runner.as_deref().unwrap_or_default()));
                return Ok(());
            }
            return self.publish(&links, &message);
        }
        match &message.target {
            Some(target) => {
                let subscription = self.0.subscribers.borrow().by_name.get(target.as_str()).cloned();
                match subscription {
                    Some(s) => enqueue(&s, message),
                    // Only for local senders: a realm's complete snapshots tell remote ones.
                    None if from.is_none() && self.0.departed.borrow().contains(target.as_str()) => self.bounce(&message),
                    None if !links.is_empty() => return self.publish(&links, &message),
                    None => self.0.env.log(LogLevel::Debug, &format!("no subscriber for {message}")),
                }
                Ok(())
            }
            None => {
                let all: Vec<Rc<Subscription<V>>> = {
                    let subs = self.0.subscribers.borrow();
                    subs.order.iter().filter_map(|n| subs.by_name.get(n).cloned()).collect()
                };
                for s in &all {
                    enqueue(s, message.clone());
                }
                self.publish(&links, &message)
            }
        }
    }

    /// A job sent to a worker that has left the bus is answered on its behalf, so it cannot hang.
    fn bounce(&self, message: &Rc<Message<V>>) {
        if let Body::JobRequest { job_id, .. } = &message.body {
            let worker = message.target.clone().unwrap_or_default();
            let reason = super::reasons::stopped(&worker);
            let reply = Body::JobResponse {
                job_id: job_id.clone(),
                status: JobStatus::Cancelled,
                response: Some(V::reason_object(&reason)),
                urgent: false,
            };
            let _ = self.route(Rc::new(Message::new(worker, Some(message.source.clone()), reply)), None);
        }
    }
}

fn enqueue<V: Value>(s: &Subscription<V>, message: Rc<Message<V>>) {
    match message.lane() {
        LaneKind::System => s.system.push(Delivery::Message(message)),
        LaneKind::Data => s.data.push(Delivery::Message(message)),
    };
}

/// One lane of one subscriber: handles its messages one at a time, logging failures. The data
/// lane first lets pending system messages go ahead.
async fn run_lane<V: Value>(
    env: Env,
    subscriber: Rc<dyn Subscriber<V>>,
    lane: Lane<Delivery<V>>,
    system_lane: Option<Lane<Delivery<V>>>,
) {
    while let Some(delivery) = lane.next().await {
        if system_lane.as_ref().is_some_and(|s| !s.is_empty()) {
            yield_now().await;
        }
        let message = match delivery {
            Delivery::Message(message) => message,
            Delivery::Deferred(action) => {
                action();
                continue;
            }
        };
        let result = match subscriber.clone().on_message(&message) {
            Ok(None) => Ok(()),
            Ok(Some(later)) => later.await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            env.log(LogLevel::Error, &format!("error handling {message}: {e}"));
        }
    }
}
