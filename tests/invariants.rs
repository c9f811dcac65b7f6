//! Engine invariants under random schedules, on the virtual clock.
//!
//! Each schedule is generated from a seed: one or two runners (on one bus, or on two buses
//! joined by a link that may be cut), workers whose handlers do what the job's payload tells
//! them (answer after k ms, send updates or a stream, throw, never settle, answer urgently,
//! answer twice, answer `cancelled` or `failed`), then a random sequence of job groups,
//! cancels, worker stops, late workers, runner ends and cancels, session ends and time
//! advances. At the end every runner is ended or cancelled and the simulation is driven until
//! nothing is left, and the invariants are checked:
//!
//! - every group settles exactly once (one transition seen by a listener, one `wait()`
//!   resolved, an outcome that never changes), a requester's own cancel settles it at once and
//!   a group with a timeout has settled by its deadline;
//! - every failure has the cause its reason names: a group whose members all answered
//!   completes (unless the last answer failed it, with cancelOnError), `timeout` only with a
//!   deadline and exactly when it passes, the schedule's cancels settle with their own reasons,
//!   and an answer fails a group only with cancelOnError and the answer's reason;
//! - a group's responses and events come only from its members, for its own job: handlers
//!   echo the group's tag, their own name, the job id and the requester, and every response a
//!   group holds must match them (or be one of the engine's own `{reason}` / `{error}`);
//! - nothing outlives its job: no readiness watch, no open group in any requester, no active
//!   job in any worker, no live timer, no task but the handlers that ignore their abort;
//! - `finished` always settles, for every runner and every worker, and so does every
//!   `end()`, `cancel()` and `stop()` that was called.
//!
//! `WORKBUS_SCHEDULES` (schedules per test, default 1000) and `WORKBUS_SEED` (the first seed,
//! default 1) choose what runs; schedule `i` uses seed `WORKBUS_SEED + i`. A failure is
//! shrunk to a minimal action sequence and reported with its seed.

use futures::future::LocalBoxFuture;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use workbus::core::bus::{Bus, LinkId, Refusal, Transport};
use workbus::core::job::{JobGroup, JobParams, NextEvent, Outcome, Requester};
use workbus::core::message::{JobStatus, Message, SharedStr};
use workbus::core::platform::{Env, LogLevel, Platform};
use workbus::core::runner::{Liveness, Runner};
use workbus::core::testkit::{Sim, TestPlatform, TestValue as V};
use workbus::core::worker::{JobHandler, JobRequest, Phase, StreamPart, Worker};

// ----- a seeded generator ---------------------------------------------------------------------

/// SplitMix64: small, fast and good enough to pick schedules.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    fn next(&mut self) -> u64 {
        workbus::core::testkit::splitmix64(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// An index chosen by weight.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut roll = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }
}

// ----- what a schedule is made of -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Topology {
    /// One runner on its own bus.
    One,
    /// Two runners sharing one bus.
    SharedBus,
    /// Two runners on two buses joined by a link (as a page and a Web Worker), fast heartbeats.
    Linked,
}

/// What a handler does with a job, chosen per member by the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Answers after `ms`.
    Answer(u16),
    /// Sends `n` updates (every other one urgent), `ms` apart, then answers.
    Updates(u8, u16),
    /// Streams a start, `n` chunks `ms` apart and an end (the end is the answer).
    Stream(u8, u16),
    /// Throws after `ms`.
    Throw(u16),
    /// Never answers, but returns once aborted.
    Hang,
    /// Never settles, whatever happens.
    Stubborn,
    /// Answers urgently after `ms`.
    Urgent(u16),
    /// Answers twice (the second must be refused).
    Twice,
    /// Answers `cancelled` with a reason.
    Cancelled,
    /// Answers `failed`.
    Failed,
}

impl Behaviour {
    fn encode(self) -> V {
        use Behaviour::*;
        let (c, a, b) = match self {
            Answer(ms) => (0, 0, ms),
            Updates(n, ms) => (1, n, ms),
            Stream(n, ms) => (2, n, ms),
            Throw(ms) => (3, 0, ms),
            Hang => (4, 0, 0),
            Stubborn => (5, 0, 0),
            Urgent(ms) => (6, 0, ms),
            Twice => (7, 0, 0),
            Cancelled => (8, 0, 0),
            Failed => (9, 0, 0),
        };
        V::Arr(vec![V::Num(c as f64), V::Num(a as f64), V::Num(b as f64)])
    }
    fn decode(v: &V) -> Option<Self> {
        use Behaviour::*;
        let V::Arr(items) = v else { return None };
        let n = |i: usize| match items.get(i) {
            Some(V::Num(x)) => *x as u64,
            _ => 0,
        };
        Some(match n(0) {
            0 => Answer(n(2) as u16),
            1 => Updates(n(1) as u8, n(2) as u16),
            2 => Stream(n(1) as u8, n(2) as u16),
            3 => Throw(n(2) as u16),
            4 => Hang,
            5 => Stubborn,
            6 => Urgent(n(2) as u16),
            7 => Twice,
            8 => Cancelled,
            _ => Failed,
        })
    }
    fn random(rng: &mut Rng, sequential: bool) -> Self {
        use Behaviour::*;
        let ms = |rng: &mut Rng| if rng.percent(25) { 0 } else { rng.range(1, 300) as u16 };
        match rng.weighted(&[30, 12, 12, 8, 8, 3, 8, 6, 7, 6]) {
            0 => Answer(ms(rng)),
            1 => Updates(rng.range(1, 4) as u8, rng.range(0, 100) as u16),
            2 => Stream(rng.range(0, 3) as u8, rng.range(0, 100) as u16),
            3 => Throw(ms(rng)),
            4 => Hang,
            // A sequential chain waits for every handler before it: one that never settles
            // holds the chain by design, so sequential jobs only hang until aborted.
            5 if sequential => Hang,
            5 => Stubborn,
            6 => Urgent(ms(rng)),
            7 => Twice,
            8 => Cancelled,
            _ => Failed,
        }
    }
}

/// Who starts a group: a runner or a worker, by index.
#[derive(Clone, Copy, Debug)]
enum Who {
    Runner(usize),
    /// Index in the table of hosted workers (initial ones first, then those added later).
    Worker(usize),
}

#[derive(Clone, Debug)]
struct WorkerSpec {
    name: String,
    runner: usize,
    /// Index of an earlier (root) worker of the same runner that adopts this one.
    parent: Option<usize>,
    /// Also has a sequential handler for jobs named "seq".
    sequential: bool,
}

#[derive(Clone, Debug)]
enum Action {
    Start {
        who: Who,
        members: Vec<(String, Behaviour)>,
        name: Option<&'static str>,
        timeout: Option<u16>,
        cancel_on_error: bool,
        cancellable: bool,
        events: bool,
    },
    /// The requester's own cancel, or (`external`) a cancel request by job id.
    Cancel { group: usize, external: bool },
    /// `Some(grace)`: a graceful stop (grace `None` = unbounded); `None`: a hard cancel.
    StopWorker { worker: usize, graceful: Option<Option<u16>> },
    AddWorker(WorkerSpec),
    EndRunner { runner: usize, grace: u16 },
    CancelRunner { runner: usize },
    EndSession { worker: usize },
    CutLink,
    Advance(u16),
    Settle,
}

#[derive(Clone, Copy, Debug)]
enum Finale {
    End(u16),
    Cancel,
}

#[derive(Clone, Debug)]
struct Schedule {
    seed: u64,
    topology: Topology,
    auto_end: Vec<bool>,
    workers: Vec<WorkerSpec>,
    actions: Vec<Action>,
    finale: Vec<Finale>,
}

const NAMES: usize = 8;
const GHOSTS: [&str; 2] = ["ghost-1", "ghost-2"];

fn generate(seed: u64, topology: Topology) -> Schedule {
    let mut rng = Rng::new(seed);
    let runners = if topology == Topology::One { 1 } else { 2 };
    let initial = rng.range(2, 5) as usize;
    let mut workers: Vec<WorkerSpec> = Vec::new();
    for i in 0..initial {
        let runner = rng.below(runners as u64) as usize;
        let parent = if rng.percent(20) {
            let roots: Vec<usize> = (0..i).filter(|&p| workers[p].parent.is_none() && workers[p].runner == runner).collect();
            (!roots.is_empty()).then(|| roots[rng.below(roots.len() as u64) as usize])
        } else {
            None
        };
        workers.push(WorkerSpec { name: format!("w{i}"), runner, parent, sequential: rng.percent(30) });
    }
    let auto_end = (0..runners).map(|_| rng.percent(10)).collect();
    let mut next_name = initial;
    let mut hosted = initial;
    let mut starts = 0usize;
    let mut actions = Vec::new();
    let count = rng.range(4, 40);
    for _ in 0..count {
        // start, advance, settle, cancel, stop, add, end, cancel runner, end session, cut
        let weights = [40, 28, 6, 10, 4, 4, 2, 1, 1, if topology == Topology::Linked { 2 } else { 0 }];
        let action = match rng.weighted(&weights) {
            0 => {
                let who = if rng.percent(70) { Who::Worker(rng.below(hosted as u64) as usize) } else { Who::Runner(rng.below(runners as u64) as usize) };
                let name = match rng.weighted(&[70, 25, 5]) {
                    0 => None,
                    1 => Some("seq"),
                    _ => Some("missing"),
                };
                let size = rng.weighted(&[55, 30, 15]) + 1;
                let mut members: Vec<(String, Behaviour)> = Vec::new();
                while members.len() < size {
                    let n = match rng.weighted(&[86, 7, 7]) {
                        0 => format!("w{}", rng.below(next_name as u64)),
                        1 => format!("w{}", rng.below(NAMES as u64)),
                        _ => GHOSTS[rng.below(2) as usize].to_string(),
                    };
                    if !members.iter().any(|(m, _)| *m == n) {
                        members.push((n, Behaviour::random(&mut rng, name == Some("seq"))));
                    }
                }
                starts += 1;
                Action::Start {
                    who,
                    members,
                    name,
                    timeout: if rng.percent(40) { None } else { Some(rng.range(0, 600) as u16) },
                    cancel_on_error: rng.percent(50),
                    cancellable: rng.percent(80),
                    events: rng.percent(50),
                }
            }
            1 => Action::Advance(if rng.percent(10) { rng.range(500, 6000) } else { rng.range(0, 400) } as u16),
            2 => Action::Settle,
            3 if starts > 0 => Action::Cancel { group: rng.below(starts as u64) as usize, external: rng.percent(40) },
            4 => Action::StopWorker {
                worker: rng.below(hosted as u64) as usize,
                graceful: if rng.percent(60) { Some(if rng.percent(30) { None } else { Some(rng.range(0, 500) as u16) }) } else { None },
            },
            5 => {
                let name = if next_name < NAMES && rng.percent(80) {
                    next_name += 1;
                    format!("w{}", next_name - 1)
                } else {
                    format!("w{}", rng.below(next_name as u64))
                };
                hosted += 1;
                Action::AddWorker(WorkerSpec { name, runner: rng.below(runners as u64) as usize, parent: None, sequential: rng.percent(30) })
            }
            6 => Action::EndRunner { runner: rng.below(runners as u64) as usize, grace: rng.range(0, 1500) as u16 },
            7 => Action::CancelRunner { runner: rng.below(runners as u64) as usize },
            8 => Action::EndSession { worker: rng.below(hosted as u64) as usize },
            9 => Action::CutLink,
            _ => Action::Settle,
        };
        actions.push(action);
    }
    let finale = (0..runners).map(|_| if rng.percent(50) { Finale::End(rng.range(0, 2000) as u16) } else { Finale::Cancel }).collect();
    Schedule { seed, topology, auto_end, workers, actions, finale }
}

// ----- a platform that counts live timers and tasks -------------------------------------------

/// Counts itself in a shared counter while alive.
struct Live(Rc<Cell<i64>>);

impl Live {
    fn new(counter: &Rc<Cell<i64>>) -> Self {
        counter.set(counter.get() + 1);
        Live(counter.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// The simulation's platform, counting the timers and tasks the engine still holds.
struct Counted {
    inner: Rc<TestPlatform>,
    timers: Rc<Cell<i64>>,
    tasks: Rc<Cell<i64>>,
    /// Runners declared gone for going silent, as logged.
    silent: Rc<RefCell<Vec<String>>>,
}

impl Platform for Counted {
    fn now(&self) -> f64 {
        self.inner.now()
    }
    fn sleep(&self, ms: f64, keep_alive: bool) -> LocalBoxFuture<'static, ()> {
        let timer = self.inner.sleep(ms, keep_alive);
        let live = Live::new(&self.timers);
        Box::pin(async move {
            let _live = live;
            timer.await
        })
    }
    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        let live = Live::new(&self.tasks);
        self.inner.spawn(Box::pin(async move {
            let _live = live;
            task.await
        }))
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        self.inner.random_bytes(buf)
    }
    fn log(&self, level: LogLevel, message: &str) {
        if let Some(rest) = message.strip_prefix("runner '") {
            if let Some((runner, _)) = rest.split_once("' stopped answering") {
                self.silent.borrow_mut().push(runner.to_string());
            }
        }
        if level == LogLevel::Error {
            self.inner.log(level, message)
        }
    }
}

// ----- links between buses (as in tests/engine.rs) --------------------------------------------

/// One direction of a link between two buses: delivers later, like postMessage.
struct Pipe {
    env: Env,
    to: RefCell<Option<(Bus<V>, LinkId)>>,
    open: Cell<bool>,
}

impl Transport<V> for Pipe {
    fn publish(&self, m: &Rc<Message<V>>) -> Result<(), Refusal<V>> {
        if let (true, Some((bus, id))) = (self.open.get(), self.to.borrow().clone()) {
            let m = m.clone();
            self.env.spawn(Box::pin(async move { bus.receive(m, Some(id)) }));
        }
        Ok(())
    }
}

fn link(env: &Env, a: &Bus<V>, b: &Bus<V>) -> Vec<Rc<Pipe>> {
    let pipe = || Rc::new(Pipe { env: env.clone(), to: RefCell::new(None), open: Cell::new(true) });
    let (ab, ba) = (pipe(), pipe());
    let id_a = a.add_link(ab.clone());
    let id_b = b.add_link(ba.clone());
    *ab.to.borrow_mut() = Some((b.clone(), id_b));
    *ba.to.borrow_mut() = Some((a.clone(), id_a));
    vec![ab, ba]
}

const FAST: Liveness = Liveness { interval: 100.0, misses: 3 };

/// Runners "page" and "realm" on two linked buses, with the given liveness; the pipes are the
/// link (dropping them drops it).
fn page_and_realm(env: &Env, liveness: Liveness) -> (Runner<V>, Runner<V>, Vec<Rc<Pipe>>) {
    let (a, b) = (Bus::new(env.clone()), Bus::new(env.clone()));
    let pipes = link(env, &a, &b);
    let page = Runner::new(env.clone(), "page".into(), a).unwrap();
    let realm = Runner::new(env.clone(), "realm".into(), b).unwrap();
    page.set_liveness(liveness);
    realm.set_liveness(liveness);
    (page, realm, pipes)
}

// ----- handlers driven by the payload ---------------------------------------------------------

/// What every handler shares: the clock, counters and the violations they see.
struct Harness {
    env: Env,
    /// Handler futures alive, except the stubborn ones.
    handlers: Rc<Cell<i64>>,
    /// Stubborn handler futures alive (they never settle, by design).
    stubborn: Rc<Cell<i64>>,
    jobs: Cell<u64>,
    violations: RefCell<Vec<String>>,
}

/// `{tag, worker, job, source}`: what a handler echoes so that a response can be traced back.
fn echo(tag: &V, me: &str, r: &JobRequest<V>) -> V {
    V::obj(&[("tag", tag.clone()), ("worker", V::s(me)), ("job", V::s(&r.id)), ("source", V::s(&r.source))])
}

fn with(v: &V, key: &str, value: V) -> V {
    let mut v = v.clone();
    if let V::Obj(fields) = &mut v {
        fields.push((key.to_string(), value));
    }
    v
}

fn job_handler(me: String, h: Rc<Harness>) -> JobHandler<V> {
    Rc::new(move |r: JobRequest<V>| {
        h.jobs.set(h.jobs.get() + 1);
        let payload = r.payload.clone().unwrap_or(V::Null);
        let plan = payload.get("plan").and_then(|p| p.get(&me)).and_then(Behaviour::decode).unwrap_or(Behaviour::Answer(0));
        let tag = payload.get("tag").cloned().unwrap_or(V::Null);
        let echo = echo(&tag, &me, &r);
        let live = Live::new(if plan == Behaviour::Stubborn { &h.stubborn } else { &h.handlers });
        let h = h.clone();
        let env = h.env.clone();
        let me = me.clone();
        Box::pin(async move {
            let _live = live;
            use Behaviour::*;
            match plan {
                Answer(ms) => {
                    env.sleep(ms as f64, true).await;
                    Ok(Some(echo))
                }
                Updates(n, ms) => {
                    for i in 0..n {
                        let _ = r.update(Some(with(&echo, "update", V::Num(i as f64))), i % 2 == 1);
                        env.sleep(ms as f64, true).await;
                    }
                    Ok(Some(echo))
                }
                Stream(n, ms) => {
                    let _ = r.stream(StreamPart::Start, Some(with(&echo, "start", V::Bool(true))));
                    for i in 0..n {
                        env.sleep(ms as f64, true).await;
                        let _ = r.stream(StreamPart::Data, Some(with(&echo, "chunk", V::Num(i as f64))));
                    }
                    let _ = r.stream(StreamPart::End, Some(echo.clone()));
                    Ok(Some(echo))
                }
                Throw(ms) => {
                    env.sleep(ms as f64, true).await;
                    Err("boom".into())
                }
                Hang => {
                    r.abort.wait().await;
                    Ok(Some(echo))
                }
                Stubborn => futures::future::pending().await,
                Urgent(ms) => {
                    env.sleep(ms as f64, true).await;
                    let _ = r.respond(Some(echo.clone()), JobStatus::Completed, true);
                    Ok(Some(echo))
                }
                Twice => {
                    if r.respond(Some(echo.clone()), JobStatus::Completed, false).is_ok()
                        && r.respond(Some(echo.clone()), JobStatus::Completed, false).is_ok()
                    {
                        h.violations.borrow_mut().push(format!("job {} of '{me}': a second response was accepted", r.id));
                    }
                    Ok(Some(echo))
                }
                Cancelled => {
                    let _ = r.respond(Some(with(&echo, "reason", V::s("changed my mind"))), JobStatus::Cancelled, false);
                    Ok(Some(echo))
                }
                Failed => {
                    let _ = r.respond(Some(echo.clone()), JobStatus::Failed, false);
                    Ok(Some(echo))
                }
            }
        })
    })
}

fn make_worker(spec: &WorkerSpec, h: &Rc<Harness>) -> Worker<V> {
    let w = Worker::new(&spec.name, true);
    w.on_job(None, job_handler(spec.name.clone(), h.clone()), false).unwrap();
    if spec.sequential {
        w.on_job(Some("seq"), job_handler(spec.name.clone(), h.clone()), true).unwrap();
    }
    w
}

/// A hosted worker and the runner (by index) hosting it.
type Hosted = (Worker<V>, usize);

// ----- running a schedule ---------------------------------------------------------------------

/// A group as the schedule tracks it.
struct Tracked {
    group: JobGroup<V>,
    requester: Rc<Requester<V>>,
    requester_name: String,
    /// The runner (by index) the requester is on.
    side: usize,
    tag: f64,
    members: Vec<String>,
    timeout: Option<f64>,
    cancel_on_error: bool,
    created_at: f64,
    /// The cancel that found the group open: "user" (the requester's own) or "requested" (an
    /// accepted `requestCancel`); it settles the group with that reason.
    cancelled: Cell<Option<&'static str>>,
    /// Transitions to settled seen by the group's listener.
    settles: Rc<Cell<u32>>,
    /// `wait()`s that resolved.
    waits: Rc<Cell<u32>>,
    /// The outcome and responses when it settled, and when.
    first: Rc<RefCell<Option<(String, f64)>>>,
    /// The listener's handle on the group (cleared at the end: it would keep the group alive).
    slot: Rc<RefCell<Option<JobGroup<V>>>>,
    late_change: Rc<RefCell<Option<String>>>,
}

/// What a settled group looks like: the outcome and the responses it holds.
fn signature(g: &JobGroup<V>) -> String {
    let outcome = match g.outcome() {
        None => "open".to_string(),
        Some(Outcome::Completed) => "completed".to_string(),
        Some(Outcome::Failed(f)) => format!("failed: {}", f.reason),
    };
    format!("{outcome} ({} responses)", g.responses().len())
}

/// A reason with the names in quotes replaced by `*`, to count reasons by kind.
fn kind(reason: &str) -> String {
    let mut out = String::new();
    let mut parts = reason.split('\'');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, p) in parts.enumerate() {
        out.push_str(if i % 2 == 0 { "'*" } else { "'" });
        if i % 2 == 1 {
            out.push_str(p);
        }
    }
    out
}

#[derive(Default, Clone)]
struct Stats {
    schedules: u64,
    actions: u64,
    jobs: u64,
    groups: u64,
    refused: u64,
    cuts: u64,
    stops: u64,
    added: u64,
    add_refused: u64,
    outcomes: BTreeMap<String, u64>,
}

impl Stats {
    fn merge(&mut self, o: &Stats) {
        self.schedules += o.schedules;
        self.actions += o.actions;
        self.jobs += o.jobs;
        self.groups += o.groups;
        self.refused += o.refused;
        self.cuts += o.cuts;
        self.stops += o.stops;
        self.added += o.added;
        self.add_refused += o.add_refused;
        for (k, v) in &o.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
    }
}

struct World {
    sim: Sim,
    env: Env,
    timers: Rc<Cell<i64>>,
    tasks: Rc<Cell<i64>>,
    h: Rc<Harness>,
    runners: Vec<Runner<V>>,
    pipes: Vec<Rc<Pipe>>,
    /// Hosted workers and the runner (by index) hosting each.
    workers: Rc<RefCell<Vec<Hosted>>>,
    groups: Vec<Tracked>,
    cut: bool,
    silent: Rc<RefCell<Vec<String>>>,
    /// Lifecycle calls (`end`, `cancel`, `stop`, `add_workers`) that have not resolved yet.
    pending: Rc<Cell<i64>>,
    stats: Stats,
}

impl World {
    fn new(s: &Schedule) -> World {
        let sim = Sim::with_seed(s.seed);
        let (timers, tasks) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let silent = Rc::new(RefCell::new(Vec::new()));
        let env: Env = Rc::new(Counted { inner: sim.env.clone(), timers: timers.clone(), tasks: tasks.clone(), silent: silent.clone() });
        // Handlers sleep on their own counters: a handler may outlive its job, the engine may not.
        let handler_env: Env =
            Rc::new(Counted { inner: sim.env.clone(), timers: Rc::new(Cell::new(0)), tasks: Rc::new(Cell::new(0)), silent: Rc::new(RefCell::new(Vec::new())) });
        let h = Rc::new(Harness {
            env: handler_env,
            handlers: Rc::new(Cell::new(0)),
            stubborn: Rc::new(Cell::new(0)),
            jobs: Cell::new(0),
            violations: RefCell::new(Vec::new()),
        });
        let mut pipes = Vec::new();
        let runners: Vec<Runner<V>> = match s.topology {
            Topology::One => vec![Runner::new(env.clone(), "runner-0".into(), Bus::new(env.clone())).unwrap()],
            Topology::SharedBus => {
                let bus = Bus::new(env.clone());
                vec![
                    Runner::new(env.clone(), "runner-a".into(), bus.clone()).unwrap(),
                    Runner::new(env.clone(), "runner-b".into(), bus).unwrap(),
                ]
            }
            Topology::Linked => {
                let (page, realm, link) = page_and_realm(&env, FAST);
                pipes = link;
                vec![page, realm]
            }
        };
        let built: Vec<Worker<V>> = s.workers.iter().map(|spec| make_worker(spec, &h)).collect();
        let mut roots: Vec<Vec<Worker<V>>> = vec![Vec::new(); runners.len()];
        let mut adoptions = Vec::new();
        for (i, spec) in s.workers.iter().enumerate() {
            match spec.parent {
                Some(p) => adoptions.push((built[p].clone(), built[i].clone())),
                None => roots[spec.runner].push(built[i].clone()),
            }
        }
        let (rs, auto_end) = (runners.clone(), s.auto_end.clone());
        sim.block_on(async move {
            for (parent, child) in adoptions {
                parent.add_workers(vec![child]).await.unwrap();
            }
            for ((r, ws), auto) in rs.iter().zip(roots).zip(auto_end) {
                r.add_workers(ws).await.unwrap();
                r.start(auto).await.unwrap();
            }
        });
        World {
            sim,
            env,
            timers,
            tasks,
            h,
            runners,
            pipes,
            workers: Rc::new(RefCell::new(built.iter().zip(&s.workers).map(|(w, spec)| (w.clone(), spec.runner)).collect())),
            groups: Vec::new(),
            cut: false,
            silent,
            pending: Rc::new(Cell::new(0)),
            stats: Stats { schedules: 1, ..Stats::default() },
        }
    }

    fn worker(&self, i: usize) -> Option<Worker<V>> {
        self.workers.borrow().get(i).map(|(w, _)| w.clone())
    }

    /// Runs a lifecycle call in the background, counting it until it resolves.
    fn spawn_tracked(&self, f: impl Future<Output = ()> + 'static) {
        let pending = self.pending.clone();
        pending.set(pending.get() + 1);
        self.sim.spawn(async move {
            f.await;
            pending.set(pending.get() - 1);
        });
    }

    fn violation(&self, v: String) {
        self.h.violations.borrow_mut().push(v);
    }

    fn apply(&mut self, action: &Action) {
        self.stats.actions += 1;
        match action {
            Action::Start { who, members, name, timeout, cancel_on_error, cancellable, events } => {
                let (requester, requester_name, side) = match *who {
                    Who::Runner(i) => (self.runners[i].requester().clone(), self.runners[i].name().to_string(), i),
                    Who::Worker(i) => match self.workers.borrow().get(i) {
                        Some((w, side)) => (w.requester().clone(), w.name().to_string(), *side),
                        None => return,
                    },
                };
                let tag = self.groups.len() as f64 + 1.0;
                let plan = V::Obj(members.iter().map(|(m, b)| (m.clone(), b.encode())).collect());
                let params = JobParams {
                    name: name.map(str::to_string),
                    payload: Some(V::obj(&[("tag", V::Num(tag)), ("plan", plan)])),
                    timeout: timeout.map(f64::from),
                    label: None,
                    cancellable: *cancellable,
                    cancel_on_error: *cancel_on_error,
                    retries: 0,
                };
                let names: Vec<String> = members.iter().map(|(m, _)| m.clone()).collect();
                let created_at = self.sim.now();
                let group = match requester.start(names.iter().map(SharedStr::from).collect(), params, *events) {
                    Ok(g) => g,
                    Err(workbus::core::ApiError::Error(_)) => {
                        self.stats.refused += 1;
                        return;
                    }
                    Err(e) => return self.violation(format!("a valid group was refused as a bad argument: {e}")),
                };
                self.stats.groups += 1;
                let t = Tracked {
                    group: group.clone(),
                    requester,
                    requester_name,
                    side,
                    tag,
                    members: names,
                    timeout: timeout.map(f64::from),
                    cancel_on_error: *cancel_on_error,
                    created_at,
                    cancelled: Cell::new(None),
                    settles: Rc::new(Cell::new(0)),
                    waits: Rc::new(Cell::new(0)),
                    first: Rc::new(RefCell::new(None)),
                    slot: Rc::new(RefCell::new(Some(group.clone()))),
                    late_change: Rc::new(RefCell::new(None)),
                };
                let (slot, settles, first, late, env) = (t.slot.clone(), t.settles.clone(), t.first.clone(), t.late_change.clone(), self.env.clone());
                let observe = Rc::new(move || {
                    let Some(g) = slot.borrow().clone() else { return };
                    if !g.is_done() {
                        return;
                    }
                    let sig = signature(&g);
                    let mut first = first.borrow_mut();
                    match &*first {
                        None => {
                            settles.set(settles.get() + 1);
                            *first = Some((sig, env.now()));
                        }
                        Some((was, _)) if *was != sig => *late.borrow_mut() = Some(format!("changed after settling: {was} -> {sig}")),
                        Some(_) => {}
                    }
                });
                let on_change = observe.clone();
                group.add_on_change(Rc::new(move |_: &_| on_change()));
                observe(); // a group can be settled when it is returned (a stopped member)
                let waits = t.waits.clone();
                self.sim.spawn(async move {
                    group.wait().await;
                    waits.set(waits.get() + 1);
                });
                self.groups.push(t);
            }
            Action::Cancel { group, external } => {
                let Some(t) = self.groups.get(*group) else { return };
                let g = &t.group;
                match (external, g.job_id()) {
                    (true, Some(id)) => {
                        let open = t.requester.group(&id).is_some();
                        let accepted = t.requester.request_cancel(&id, Some("requested".into()));
                        if accepted != (open && g.cancellable()) {
                            self.violation(format!("group {}: requestCancel answered {accepted} (open {open})", t.tag));
                        }
                        if accepted && !g.is_done() {
                            self.violation(format!("group {}: an accepted cancel request did not settle it", t.tag));
                        }
                        if accepted {
                            t.cancelled.set(Some("requested"));
                        }
                    }
                    _ => {
                        if !g.is_done() {
                            t.cancelled.set(Some("user"));
                        }
                        t.requester.cancel(g, Some("user".into()));
                        if !g.is_done() {
                            self.violation(format!("group {}: the requester's cancel did not settle it", t.tag));
                        }
                    }
                }
            }
            Action::StopWorker { worker, graceful } => {
                let Some(w) = self.worker(*worker) else { return };
                self.stats.stops += 1;
                match graceful {
                    Some(grace) => {
                        let grace = grace.map(f64::from);
                        self.spawn_tracked(async move { w.stop(Some("stop".into()), grace).await.unwrap() });
                    }
                    None => w.cancel(Some("cancel".into())),
                }
            }
            Action::AddWorker(spec) => {
                // One live worker per name across runners: two at once form a pool (tested in
                // tests/engine.rs), which this model leaves out. A name comes back once its
                // holder has finished.
                if self.workers.borrow().iter().any(|(w, _)| w.name() == spec.name && !w.is_finished()) {
                    self.stats.add_refused += 1;
                    return;
                }
                let w = make_worker(spec, &self.h);
                let r = self.runners[spec.runner].clone();
                let table = self.workers.clone();
                let side = spec.runner;
                let pending = self.pending.clone();
                pending.set(pending.get() + 1);
                let added = Rc::new(Cell::new(None));
                let a = added.clone();
                self.sim.spawn(async move {
                    let result = r.add_workers(vec![w.clone()]).await;
                    if result.is_ok() {
                        table.borrow_mut().push((w, side));
                    }
                    a.set(Some(result.is_ok()));
                    pending.set(pending.get() - 1);
                });
                // Hosting happens before the first await: the table is in order right away.
                self.sim.settle();
                match added.get() {
                    Some(true) => self.stats.added += 1,
                    Some(false) => self.stats.add_refused += 1,
                    None => {}
                }
            }
            Action::EndRunner { runner, grace } => {
                let r = self.runners[*runner].clone();
                let grace = *grace as f64;
                self.spawn_tracked(async move { r.end(Some("end".into()), grace).await });
            }
            Action::CancelRunner { runner } => {
                let r = self.runners[*runner].clone();
                self.spawn_tracked(async move { r.cancel(Some("cancel".into())).await });
            }
            Action::EndSession { worker } => {
                if let Some(w) = self.worker(*worker) {
                    let _ = w.end_session(Some("session over".into()));
                }
            }
            Action::CutLink => {
                self.stats.cuts += 1;
                self.cut = true;
                self.pipes.iter().for_each(|p| p.open.set(false));
            }
            Action::Advance(ms) => {
                self.sim.advance(*ms as f64);
                self.check_now();
            }
            Action::Settle => {
                self.sim.settle();
                self.check_now();
            }
        }
    }

    /// Whether messages can still pass between two runners (by index).
    fn connected(&self, a: usize, b: usize) -> bool {
        a == b || !self.cut
    }

    /// What must hold whenever nothing is left to run at this instant.
    fn check_now(&mut self) {
        let table = self.workers.clone();
        let workers = table.borrow();
        for t in &self.groups {
            let Some(job_id) = t.group.job_id() else { continue };
            if t.group.is_done() {
                // A settled group's job runs nowhere it can reach.
                for (w, side) in workers.iter() {
                    if self.connected(t.side, *side) && w.active_jobs().iter().any(|j| j.id == job_id) {
                        self.h.violations.borrow_mut().push(format!(
                            "group {} of '{}' settled ({}) but its job is still active at '{}' (now {})",
                            t.tag,
                            t.requester_name,
                            signature(&t.group),
                            w.name(),
                            self.sim.now()
                        ));
                    }
                }
            } else {
                // A group that has an answer from every member has settled.
                if t.group.responses().len() == t.members.len() {
                    self.h.violations.borrow_mut().push(format!("group {} of '{}' is open with an answer from every member", t.tag, t.requester_name));
                }
                // An open group has heard from every member that has finished.
                for m in &t.members {
                    let hosts: Vec<_> = workers.iter().filter(|(w, _)| w.name() == m).collect();
                    let finished = !hosts.is_empty() && hosts.iter().all(|(w, side)| w.is_finished() && self.connected(t.side, *side));
                    if finished && t.group.response_of(m).is_none() {
                        self.h.violations.borrow_mut().push(format!("group {} of '{}' is open without an answer from '{m}', which has finished", t.tag, t.requester_name));
                    }
                }
            }
        }
        // A runner that declared a silent peer gone after a cut runs no job for that peer's side.
        if self.cut {
            for gone in self.silent.borrow().iter() {
                let Some(peer) = self.runners.iter().position(|r| r.name() == gone) else { continue };
                let from_peer = |source: &str| {
                    source == gone
                        || workers.iter().any(|(w, side)| w.name() == source && *side == peer)
                            && !workers.iter().any(|(w, side)| w.name() == source && *side != peer)
                };
                for (w, side) in workers.iter() {
                    if *side != peer {
                        for j in w.active_jobs() {
                            if from_peer(&j.source) {
                                self.h.violations.borrow_mut().push(format!("'{}' still runs job {} from '{}', whose runner '{gone}' is gone", w.name(), j.id, j.source));
                            }
                        }
                    }
                }
            }
        }
    }

    fn all_finished(&self) -> bool {
        self.runners.iter().all(Runner::is_finished) && self.workers.borrow().iter().all(|(w, _)| w.is_finished()) && self.pending.get() == 0
    }

    /// Ends or cancels every runner, then drives time until everything has finished.
    fn finish(&mut self, finale: &[Finale]) -> Result<(), String> {
        for (r, f) in self.runners.iter().zip(finale) {
            let r = r.clone();
            match *f {
                Finale::End(grace) => self.spawn_tracked(async move { r.end(Some("finale".into()), grace as f64).await }),
                Finale::Cancel => self.spawn_tracked(async move { r.cancel(Some("finale".into())).await }),
            }
        }
        // The longest wait: a session end's default grace (5 s) plus a finale's grace (2 s).
        let mut waited = 0.0;
        while !self.all_finished() && waited < 60_000.0 {
            self.sim.advance(250.0);
            waited += 250.0;
        }
        if !self.all_finished() {
            let mut open = Vec::new();
            for r in &self.runners {
                if !r.is_finished() {
                    open.push(format!("runner '{}' ({:?})", r.name(), r.phase()));
                }
            }
            for (w, _) in self.workers.borrow().iter() {
                if !w.is_finished() {
                    open.push(format!("worker '{}' ({:?})", w.name(), w.phase()));
                }
            }
            return Err(format!("finished never settled after {waited} ms: {} (lifecycle calls pending: {})", open.join(", "), self.pending.get()));
        }
        // Once everything has finished the engine holds no timer (a handler still may).
        self.sim.settle();
        if self.timers.get() != 0 {
            return Err(format!("{} engine timers outlive the runners", self.timers.get()));
        }
        // Whatever is still due runs now; nothing may be left afterwards.
        self.sim.advance(100_000.0);
        self.sim.block_on(async {});
        Ok(())
    }

    fn check(&mut self) -> Result<(), String> {
        let mut errors: Vec<String> = std::mem::take(&mut *self.h.violations.borrow_mut());
        for r in &self.runners {
            let name = r.name();
            if r.registry().watch_count() != 0 {
                errors.push(format!("runner '{name}': {} readiness watches left", r.registry().watch_count()));
            }
            if r.requester().open_count() != 0 {
                errors.push(format!("runner '{name}': {} groups left open", r.requester().open_count()));
            }
        }
        for (w, _) in self.workers.borrow().iter() {
            let name = w.name();
            if w.phase() != Phase::Stopped {
                errors.push(format!("worker '{name}' is {:?}", w.phase()));
            }
            if w.requester().open_count() != 0 {
                errors.push(format!("worker '{name}': {} groups left open", w.requester().open_count()));
            }
            if !w.active_jobs().is_empty() {
                errors.push(format!("worker '{name}': {} jobs still active", w.active_jobs().len()));
            }
        }
        if self.timers.get() != 0 {
            errors.push(format!("{} timers still pending", self.timers.get()));
        }
        if self.h.handlers.get() != 0 {
            errors.push(format!("{} handlers never returned", self.h.handlers.get()));
        }
        if self.tasks.get() != self.h.stubborn.get() {
            errors.push(format!("{} tasks left, {} of them stubborn handlers", self.tasks.get(), self.h.stubborn.get()));
        }
        for t in &self.groups {
            if let Err(e) = check_group(t) {
                errors.push(format!("group {} of '{}' to {:?}: {e}", t.tag, t.requester_name, t.members));
            }
            let key = match t.group.outcome() {
                Some(Outcome::Completed) => "completed".to_string(),
                Some(Outcome::Failed(f)) => format!("failed: {}", kind(&f.reason)),
                None => "open".to_string(),
            };
            *self.stats.outcomes.entry(key).or_default() += 1;
        }
        self.stats.jobs = self.h.jobs.get();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n  "))
        }
    }

    /// Breaks the cycles a finished schedule leaves (listener -> group, link -> bus -> link).
    fn dispose(&mut self) {
        for t in &self.groups {
            t.slot.borrow_mut().take();
        }
        for p in &self.pipes {
            p.to.borrow_mut().take();
        }
    }
}

fn check_group(t: &Tracked) -> Result<(), String> {
    let g = &t.group;
    if t.settles.get() != 1 {
        return Err(format!("settled {} times", t.settles.get()));
    }
    if t.waits.get() != 1 {
        return Err(format!("wait() resolved {} times", t.waits.get()));
    }
    if let Some(e) = &*t.late_change.borrow() {
        return Err(e.clone());
    }
    let Some(outcome) = g.outcome() else { return Err("no outcome".into()) };
    let (sig, settled_at) = t.first.borrow().clone().expect("settled once");
    if sig != signature(g) {
        return Err(format!("changed after settling: {sig} -> {}", signature(g)));
    }
    if let Some(timeout) = t.timeout {
        if settled_at > t.created_at + timeout {
            return Err(format!("settled {} ms after its {timeout} ms deadline", settled_at - t.created_at - timeout));
        }
    }
    let job_id = g.job_id();
    let check_value = |worker: &str, v: &V, final_answer: bool| -> Result<(), String> {
        if !t.members.iter().any(|m| m == worker) {
            return Err(format!("a response from '{worker}', not a member: {v:?}"));
        }
        match v.get("tag") {
            Some(_) if final_answer && ["update", "chunk", "start"].iter().any(|k| v.get(k).is_some()) => {
                Err(format!("'{worker}' answered with an update or a stream part: {v:?}"))
            }
            Some(tag) => {
                let expected = [
                    ("tag", V::Num(t.tag)),
                    ("worker", V::s(worker)),
                    ("job", job_id.clone().map(|id| V::Str(id.to_string())).unwrap_or(V::Null)),
                    ("source", V::s(&t.requester_name)),
                ];
                for (k, want) in expected {
                    if v.get(k) != Some(&want) {
                        return Err(format!("'{worker}' answered {v:?}: {k} should be {want:?} (tag {tag:?})"));
                    }
                }
                Ok(())
            }
            None => match v {
                V::Obj(fields) if fields.len() == 1 && matches!(fields[0].0.as_str(), "reason" | "error") && matches!(fields[0].1, V::Str(_)) => Ok(()),
                _ => Err(format!("'{worker}' answered {v:?}, neither an echo nor the engine's own")),
            },
        }
    };
    let check = |worker: &str, v: &V| check_value(worker, v, true);
    let responses = g.responses();
    if job_id.is_none() && !responses.is_empty() {
        return Err("responses to a group that was never sent".into());
    }
    for (w, v) in &responses {
        check(w, v)?;
    }
    match outcome {
        Outcome::Completed => {
            if job_id.is_none() {
                return Err("completed without being sent".into());
            }
            for m in &t.members {
                if g.response_of(m).is_none() {
                    return Err(format!("completed without an answer from '{m}'"));
                }
            }
            if responses.len() != t.members.len() {
                return Err(format!("completed with {} responses for {} members", responses.len(), t.members.len()));
            }
        }
        Outcome::Failed(f) => {
            for (w, v) in &f.responses {
                check(w, v)?;
            }
            if let Some(w) = &f.worker_name {
                if !t.members.contains(w) {
                    return Err(format!("failed because of '{w}', not a member"));
                }
                if let Some(r) = &f.response {
                    check(w, r)?;
                }
            }
            if f.not_ready && (job_id.is_some() || t.timeout.is_none()) {
                return Err("failed as not ready, yet it was sent or had no deadline".into());
            }
            check_failure_cause(t, &f, settled_at)?;
        }
    }
    loop {
        match g.next_event() {
            NextEvent::Event(e) => {
                if job_id.is_none() {
                    return Err("an event for a group that was never sent".into());
                }
                if let Some(data) = e.data() {
                    check_value(e.worker_name(), data, false).map_err(|m| format!("{} event: {m}", e.kind.as_str()))?;
                } else if !t.members.iter().any(|m| m == e.worker_name()) {
                    return Err(format!("an event from '{}', not a member", e.worker_name()));
                }
            }
            NextEvent::Pending => return Err("its events end pending after it settled".into()),
            NextEvent::Completed | NextEvent::Failed(_) => break,
        }
    }
    Ok(())
}

/// Outcome rules of a failed group: every failure has the cause its reason names.
/// - A group whose members have all answered completes: it fails with every answer in hand
///   only when the last answer itself failed it (an error or `cancelled` with cancelOnError).
/// - `timeout` (and "not ready") only with a deadline, exactly when the deadline passes, and
///   `timeout` only once the group was sent.
/// - The reasons of the schedule's own cancels ("user", "requested") only from those cancels,
///   and such a cancel on an open group settles it with its reason.
/// - A failure caused by an answer (it has a status) only with cancelOnError, from a member,
///   with the answer's reason: "worker '<w>' errored" for `error`/`failed`, the response's
///   `reason` (or "cancelled") for `cancelled`.
fn check_failure_cause(t: &Tracked, f: &workbus::core::job::JobFailure<V>, settled_at: f64) -> Result<(), String> {
    let answered = |m: &String| f.responses.iter().any(|(w, _)| w == m);
    if f.status.is_none() && t.members.iter().all(answered) {
        return Err(format!("failed ({}) with an answer from every member in hand: it should have completed", f.reason));
    }
    if f.reason == "timeout" || f.not_ready {
        let Some(timeout) = t.timeout else { return Err(format!("failed with '{}' without a deadline", f.reason)) };
        if settled_at != t.created_at + timeout {
            return Err(format!("failed with '{}' at {} ms, its deadline is {} ms", f.reason, settled_at - t.created_at, timeout));
        }
        if f.reason == "timeout" && t.group.job_id().is_none() {
            return Err("failed with 'timeout' before it was sent (that is 'not ready')".into());
        }
    }
    match t.cancelled.get() {
        Some(reason) if f.reason != reason => return Err(format!("a '{reason}' cancel found it open, yet it failed with '{}'", f.reason)),
        None if matches!(f.reason.as_str(), "user" | "requested") => return Err(format!("failed with '{}', but no such cancel found it open", f.reason)),
        _ => {}
    }
    if let Some(status) = f.status {
        if !t.cancel_on_error {
            return Err(format!("failed on a '{status:?}' answer without cancelOnError"));
        }
        let Some(w) = f.worker_name.as_ref().filter(|w| t.members.contains(w)) else {
            return Err(format!("failed on a '{status:?}' answer from {:?}, not a member", f.worker_name));
        };
        let expected = match status {
            JobStatus::Cancelled => f.response.as_ref().and_then(|r| r.get("reason")).and_then(|r| match r {
                V::Str(s) => Some(s.clone()),
                _ => None,
            }),
            _ => Some(format!("worker '{w}' errored")),
        }
        .unwrap_or_else(|| "cancelled".into());
        if f.reason != expected {
            return Err(format!("failed on a '{status:?}' answer from '{w}' with '{}', expected '{expected}'", f.reason));
        }
    }
    Ok(())
}

/// Runs one schedule to the end and checks it.
fn run(s: &Schedule) -> Result<Stats, String> {
    let mut world = World::new(s);
    for a in &s.actions {
        world.apply(a);
    }
    let result = world.finish(&s.finale).and_then(|_| world.check());
    world.dispose();
    result.map(|_| world.stats.clone())
}

/// `run`, with a panic inside the engine reported as a failure.
fn run_caught(s: &Schedule) -> Result<Stats, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| run(s))) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        )),
    }
}

/// The smallest schedule that still fails: drops actions, setup workers, and softens the finale.
fn shrink(mut s: Schedule) -> Schedule {
    let fails = |s: &Schedule| run_caught(s).is_err();
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < s.actions.len() {
            let mut t = s.clone();
            t.actions.remove(i);
            if fails(&t) {
                s = t;
                progress = true;
            } else {
                i += 1;
            }
        }
        let mut i = s.workers.len();
        while i > 0 {
            i -= 1;
            if s.workers.iter().any(|w| w.parent == Some(i)) {
                continue;
            }
            let mut t = s.clone();
            t.workers.remove(i);
            for w in &mut t.workers {
                w.parent = w.parent.map(|p| if p > i { p - 1 } else { p });
            }
            if fails(&t) {
                s = t;
                progress = true;
            }
        }
        for i in 0..s.actions.len() {
            if let Action::Advance(ms) = s.actions[i] {
                if ms > 0 {
                    let mut t = s.clone();
                    t.actions[i] = Action::Advance(ms / 2);
                    if fails(&t) {
                        s = t;
                        progress = true;
                    }
                }
            }
        }
        if !progress {
            return s;
        }
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Explores `WORKBUS_SCHEDULES` schedules of a topology; on a failure, shrinks and panics
/// with the seed and the minimal sequence.
fn explore(test: &str, topology: Topology) {
    let count = env_u64("WORKBUS_SCHEDULES", 1000);
    let first = env_u64("WORKBUS_SEED", 1);
    let started = std::time::Instant::now();
    let mut total = Stats::default();
    for i in 0..count {
        let seed = first.wrapping_add(i);
        let s = generate(seed, topology);
        match run_caught(&s) {
            Ok(stats) => total.merge(&stats),
            Err(e) => {
                let small = shrink(s.clone());
                let why = run_caught(&small).err().unwrap_or(e.clone());
                panic!(
                    "invariant broken in schedule seed {seed} ({topology:?}):\n  {e}\n\nminimal schedule ({} of {} actions):\n{small:#?}\nit fails with:\n  {why}\n\nreproduce: WORKBUS_SEED={seed} WORKBUS_SCHEDULES=1 cargo test --test invariants {test} -- --nocapture",
                    small.actions.len(),
                    s.actions.len()
                );
            }
        }
    }
    let outcomes: Vec<String> = total.outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "invariants {test}: schedules={} seeds={first}..{} actions={} groups={} refused={} jobs={} stops={} added={} add_refused={} cuts={} time={:.2}s outcomes: {}",
        total.schedules,
        first.wrapping_add(count),
        total.actions,
        total.groups,
        total.refused,
        total.jobs,
        total.stops,
        total.added,
        total.add_refused,
        total.cuts,
        started.elapsed().as_secs_f64(),
        outcomes.join(", ")
    );
}

// Every topology: any broken invariant fails, including the bugs these tests found (fixed; see
// docs/invariants.md).

#[test]
fn one_runner_strict() {
    explore("one_runner_strict", Topology::One);
}

#[test]
fn two_runners_on_one_bus_strict() {
    explore("two_runners_on_one_bus_strict", Topology::SharedBus);
}

#[test]
fn linked_realms_with_cuts_strict() {
    explore("linked_realms_with_cuts_strict", Topology::Linked);
}

/// The shrunk case of the first bug these tests found (fixed). A worker's data lane lets
/// pending system messages go first, so a `JobCancel` sent right after its `JobRequest` (before
/// the worker took the request off its data lane) is handled first and finds no such job; the
/// request must then not start a job whose group has already settled as cancelled.
#[test]
fn a_cancel_that_overtakes_its_request_still_ends_the_job() {
    let sim = Sim::new();
    let env = sim.env();
    let aborted = Rc::new(Cell::new(false));
    let started = Rc::new(Cell::new(false));
    let (a, st) = (aborted.clone(), started.clone());
    let patient: JobHandler<V> = Rc::new(move |r: JobRequest<V>| {
        let a = a.clone();
        st.set(true);
        Box::pin(async move {
            r.abort.wait().await;
            a.set(true);
            Ok(None)
        })
    });
    let w = Worker::new("w", true);
    w.on_job(None, patient, false).unwrap();
    let r = Runner::new(env.clone(), "runner-0".into(), Bus::new(env)).unwrap();
    let (r2, w2) = (r.clone(), w.clone());
    sim.block_on(async move {
        r2.add_workers(vec![w2]).await.unwrap();
        r2.start(false).await.unwrap();
    });
    let g = r.start_group(vec!["w".into()], JobParams::default(), false).unwrap();
    // Queued behind the send: cancels once the request is on the bus, before `w` has taken it.
    let (requester, g2) = (r.requester().clone(), g.clone());
    sim.spawn(async move {
        assert!(g2.is_sent());
        requester.cancel(&g2, Some("user".into()));
    });
    sim.settle();
    assert!(g.is_done(), "the group settled as cancelled");
    assert!(w.active_jobs().is_empty(), "the cancelled job still runs at the worker");
    assert!(!started.get() || aborted.get(), "the handler ran and was never aborted");
}

/// The shrunk case of the second bug these tests found (fixed). A peer across a link may still
/// list a worker that stopped while its runner ends; the peer's request to it must be answered
/// at once, as on one bus ("worker 'w0' stopped"), not dropped until the peer gives up on the
/// runner.
#[test]
fn a_worker_stopped_while_its_runner_ends_answers_remote_requests() {
    let sim = Sim::new();
    let env = sim.env();
    let (page, realm, pipes) = page_and_realm(&env, FAST);
    let busy: JobHandler<V> = Rc::new(|_| Box::pin(futures::future::pending()));
    let (w0, w1, asker) = (Worker::new("w0", true), Worker::new("w1", true), Worker::new("asker", true));
    w1.on_job(None, busy, false).unwrap();
    let (p, r, ws, a2) = (page.clone(), realm.clone(), vec![w0.clone(), w1.clone()], asker.clone());
    sim.block_on(async move {
        p.add_workers(ws).await.unwrap();
        p.start(false).await.unwrap();
        r.add_workers(vec![a2]).await.unwrap();
        r.start(false).await.unwrap();
    });
    sim.settle();
    // w1 is busy, so the page ends slowly; w0 has nothing to do and stops at once.
    let busy_job = asker.start_group(vec!["w1".into()], JobParams::default(), false).unwrap();
    sim.settle();
    let p = page.clone();
    sim.spawn(async move { p.end(None, 1000.0).await });
    sim.settle();
    assert!(w0.is_finished() && !page.is_finished());
    let g = asker.start_group(vec!["w0".into()], JobParams::default(), false).unwrap();
    sim.settle();
    assert!(g.is_done(), "a request to a stopped worker is answered at once, as on one bus");
    drop((busy_job, pipes));
}

/// The third bug (fixed), an ending runner going quiet: had it stopped its heartbeats at once, a
/// peer would declare it gone after `interval * misses` although its grace is longer, and fail
/// jobs its workers would still answer within that grace (on one runner they complete: see
/// `graceful_end_lets_handlers_finish_within_the_grace_period` in tests/engine.rs).
#[test]
fn an_ending_runner_is_not_declared_gone_within_its_grace() {
    let sim = Sim::new();
    let env = sim.env();
    let (page, realm, pipes) = page_and_realm(&env, FAST);
    let e = env.clone();
    let slow: JobHandler<V> = Rc::new(move |_| {
        let sleep = e.sleep(500.0, true);
        Box::pin(async move {
            sleep.await;
            Ok(Some(V::s("done")))
        })
    });
    let (w, asker) = (Worker::new("w", true), Worker::new("asker", true));
    w.on_job(None, slow, false).unwrap();
    let (p, r, w2, a2) = (page.clone(), realm.clone(), w.clone(), asker.clone());
    sim.block_on(async move {
        p.add_workers(vec![w2]).await.unwrap();
        p.start(false).await.unwrap();
        r.add_workers(vec![a2]).await.unwrap();
        r.start(false).await.unwrap();
    });
    sim.advance(250.0); // heartbeats flow both ways
    let g = asker.start_group(vec!["w".into()], JobParams::default(), false).unwrap();
    sim.settle();
    let p = page.clone();
    sim.spawn(async move { p.end(None, 1000.0).await });
    sim.advance(600.0);
    assert!(matches!(g.outcome(), Some(Outcome::Completed)), "the answer within the page's grace is delivered: {}", signature(&g));
    drop(pipes);
}

/// The other way to the second bug (fixed): a group waits for one member while another one
/// stops and its runner's snapshot removes it; once the first is ready the group must not be
/// sent to the one that left (the request would be dropped over the link and, without a
/// timeout, the group would never settle).
#[test]
fn a_member_that_left_during_the_readiness_wait_is_answered_stopped() {
    let sim = Sim::new();
    let env = sim.env();
    let (page, realm, pipes) = page_and_realm(&env, Liveness::default());
    let echo: JobHandler<V> = Rc::new(|r: JobRequest<V>| Box::pin(async move { Ok(r.payload.clone()) }));
    let (w1, late) = (Worker::new("w1", true), Worker::new("late", true));
    w1.on_job(None, echo.clone(), false).unwrap();
    late.on_job(None, echo, false).unwrap();
    let (p, r, w) = (page.clone(), realm.clone(), w1.clone());
    sim.block_on(async move {
        p.add_workers(vec![w]).await.unwrap();
        p.start(false).await.unwrap();
        r.start(false).await.unwrap();
    });
    sim.settle();
    let g = realm.start_group(vec!["w1".into(), "late".into()], JobParams::default(), false).unwrap();
    sim.settle();
    assert!(!g.is_sent(), "waits for 'late'");
    sim.block_on(async move { w1.stop(None, None).await.unwrap() });
    sim.settle();
    assert!(!realm.registry().has("w1"), "the page's snapshot told the realm");
    let p = page.clone();
    sim.block_on(async move { p.add_workers(vec![late]).await.unwrap() });
    sim.advance(10_000.0);
    assert!(g.is_done(), "the group is answered for 'w1', as on one bus: {}", signature(&g));
    drop(pipes);
}
