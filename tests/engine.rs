//! Engine rules, on the host, with a virtual clock: every timeout here is exact and instant.

use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::rc::Rc;
use workbus::core::bus::{Bus, Refusal, Subscriber};
use workbus::core::job::{JobFailure, JobParams, NextEvent, Outcome};
use workbus::core::message::{Body, JobStatus, Message, SharedStr};
use workbus::core::platform::Env;
use workbus::core::registry::{GoneReason, ReadyData, RegistryEvent, WatchFn, WatchKey};
use workbus::core::runner::Runner;
use workbus::core::testkit::{Sim, TestValue as V};
use workbus::core::worker::{JobHandler, JobRequest, StreamPart, Worker, WorkerEvent};
use workbus::core::{ApiError, Thrown, Value};

type Reply = Result<Option<V>, String>;

fn handler(f: impl Fn(JobRequest<V>) -> LocalBoxFuture<'static, Reply> + 'static) -> JobHandler<V> {
    Rc::new(move |r| {
        let reply = f(r);
        Box::pin(async move { reply.await.map_err(Thrown::from) })
    })
}

fn echo() -> JobHandler<V> {
    handler(|r| Box::pin(async move { Ok(r.payload.clone()) }))
}

/// A handler that sleeps `ms` of virtual time, then answers `{done: ms}`.
fn slow(env: Env, ms: f64) -> JobHandler<V> {
    handler(move |_| {
        let sleep = env.sleep(ms, true);
        Box::pin(async move {
            sleep.await;
            Ok(Some(V::obj(&[("done", V::Num(ms))])))
        })
    })
}

/// A handler that never settles, and the reason it was aborted with, once it is.
fn patient() -> (JobHandler<V>, Rc<RefCell<Option<String>>>) {
    let aborted = Rc::new(RefCell::new(None));
    let a = aborted.clone();
    let h = handler(move |r| {
        let a = a.clone();
        r.abort.on_abort(move |why| *a.borrow_mut() = Some(why.to_string()));
        Box::pin(futures::future::pending())
    });
    (h, aborted)
}

/// Runs the simulation until the group settles.
fn wait(sim: &Sim, g: &workbus::core::job::JobGroup<V>) -> Outcome<V> {
    let g = g.clone();
    sim.block_on(async move { g.wait().await })
}

fn never() -> JobHandler<V> {
    handler(|_| Box::pin(futures::future::pending()))
}

fn runner(sim: &Sim, name: &str) -> Runner<V> {
    Runner::new(sim.env(), name.to_string(), Bus::new(sim.env())).unwrap()
}

fn worker(name: &str, job: Option<JobHandler<V>>) -> Worker<V> {
    let w = Worker::new(name, true);
    if let Some(h) = job {
        w.on_job(None, h, false).unwrap();
    }
    w
}

fn params(payload: Option<V>, timeout: Option<f64>) -> JobParams<V> {
    JobParams { payload, timeout, ..JobParams::default() }
}

fn started(sim: &Sim, workers: Vec<Worker<V>>) -> Runner<V> {
    let r = runner(sim, "runner-test");
    let r2 = r.clone();
    sim.block_on(async move {
        r2.add_workers(workers).await.unwrap();
        r2.start(false).await.unwrap();
    });
    r
}

fn failure(outcome: Outcome<V>) -> Rc<JobFailure<V>> {
    match outcome {
        Outcome::Failed(f) => f,
        Outcome::Completed => panic!("expected a failure"),
    }
}

/// Records every event of a worker by name.
fn record_events(w: &Worker<V>) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    w.set_event_sink(
        Some(Rc::new(move |e: WorkerEvent<V>| {
            let detail = match &e {
                WorkerEvent::BusMessage(m) => format!(":{}", m.type_name()),
                _ => String::new(),
            };
            l.borrow_mut().push(format!("{}{}", e.name(), detail));
        })),
        u32::MAX,
    );
    log
}

#[test]
fn job_round_trip_returns_the_payload_by_value() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("echo", Some(echo()))]);
    let g = r.start_group(vec!["echo".into()], params(Some(V::s("hi")), None), false).unwrap();
    assert!(!g.is_sent(), "the send waits for the caller's turn to end");
    sim.settle();
    assert!(g.is_sent());
    assert_eq!(g.job_id().unwrap().len(), 36);
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    assert_eq!(g.response_of("echo"), Some(V::s("hi")));
    assert_eq!(g.last_status(), Some(JobStatus::Completed));
}

#[test]
fn undefined_response_becomes_empty_object() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(handler(|_| Box::pin(async { Ok(None) }))))]);
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(g.response_of("w"), Some(V::Obj(vec![])));
}

#[test]
fn updates_and_stream_events_arrive_in_order_and_stream_end_completes() {
    let sim = Sim::new();
    let h = handler(|r| {
        Box::pin(async move {
            r.update(Some(V::Num(1.0)), false).unwrap();
            r.stream(StreamPart::Start, None).unwrap();
            r.stream(StreamPart::Data, Some(V::s("a"))).unwrap();
            r.stream(StreamPart::End, Some(V::s("end"))).unwrap();
            Ok(Some(V::s("ignored: the stream end already answered")))
        })
    });
    let r = started(&sim, vec![worker("s", Some(h))]);
    let g = r.start_group(vec!["s".into()], params(None, None), true).unwrap();
    wait(&sim, &g);
    let mut kinds = Vec::new();
    loop {
        match g.next_event() {
            NextEvent::Event(e) => kinds.push((e.kind.as_str(), e.worker_name().to_string(), e.data().cloned())),
            NextEvent::Completed => break,
            other => panic!("unexpected {}", matches!(other, NextEvent::Pending)),
        }
    }
    assert_eq!(
        kinds,
        vec![
            ("update", "s".to_string(), Some(V::Num(1.0))),
            ("stream_start", "s".to_string(), None),
            ("stream_data", "s".to_string(), Some(V::s("a"))),
            ("stream_end", "s".to_string(), Some(V::s("end"))),
        ]
    );
    assert_eq!(g.response_of("s"), Some(V::s("end")));
    assert!(matches!(g.next_event(), NextEvent::Completed), "a finished iterator ends at once");
}

#[test]
fn timeout_fires_exactly_at_the_deadline_and_aborts_the_handler() {
    let sim = Sim::new();
    let seen: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let h = handler(move |r| {
        let s = s.clone();
        r.abort.on_abort(move |reason| *s.borrow_mut() = Some(reason.to_string()));
        Box::pin(futures::future::pending())
    });
    let r = started(&sim, vec![worker("w", Some(h))]);
    let t0 = sim.now();
    let g = r.start_group(vec!["w".into()], params(None, Some(100.0)), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "timeout");
    assert_eq!(sim.now() - t0, 100.0);
    sim.settle();
    assert_eq!(seen.borrow().as_deref(), Some("timeout"));
    assert_eq!(r.get_worker("w").unwrap().active_jobs().len(), 0);
}

#[test]
fn one_deadline_covers_readiness_and_the_job() {
    let sim = Sim::new();
    let r = started(&sim, vec![]);
    let t0 = sim.now();
    let g = r.start_group(vec!["late".into()], params(None, Some(100.0)), false).unwrap();
    assert!(!g.is_sent());
    sim.advance(60.0);
    let r2 = r.clone();
    let env = sim.env();
    sim.block_on(async move { r2.add_workers(vec![worker("late", Some(slow(env, 60.0)))]).await.unwrap() });
    assert!(g.is_sent());
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "timeout");
    assert_eq!(sim.now() - t0, 100.0, "not 160: the deadline does not restart after the wait");
}

#[test]
fn readiness_timeout_fails_without_sending_and_leaves_no_watch() {
    let sim = Sim::new();
    let r = started(&sim, vec![]);
    let g = r.start_group(vec!["ghost".into()], params(None, Some(50.0)), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "workers not ready within timeout");
    assert!(f.not_ready);
    assert!(!g.is_sent());
    sim.settle();
    assert_eq!(r.registry().watch_count(), 0);
    assert_eq!(r.requester().open_count(), 0);
}

#[test]
fn a_throwing_handler_answers_error_and_the_job_fails_with_the_details() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("bad", Some(handler(|_| Box::pin(async { Err("boom".to_string()) }))))]);
    let g = r.start_group(vec!["bad".into()], params(None, None), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "worker 'bad' errored");
    assert_eq!(f.worker_name.as_deref(), Some("bad"));
    assert_eq!(f.status, Some(JobStatus::Error));
    assert_eq!(f.response, Some(V::error_object("boom")));
}

#[test]
fn no_handler_answers_an_error_naming_the_job() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("idle", None)]);
    let p = JobParams { name: Some("ocr".into()), ..JobParams::default() };
    let g = r.start_group(vec!["idle".into()], p, false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.response, Some(V::error_object("no handler for job 'ocr'")));
    let g = r.start_group(vec!["idle".into()], params(None, None), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.response, Some(V::error_object("no handler for job")));
}

#[test]
fn cancel_on_error_cancels_the_other_members() {
    let sim = Sim::new();
    let (patient, aborted) = patient();
    let r = started(
        &sim,
        vec![
            worker("ok", Some(echo())),
            worker("patient", Some(patient)),
            worker("bad", Some(handler(|_| Box::pin(async { Err("nope".to_string()) })))),
        ],
    );
    let g = r.start_group(vec!["ok".into(), "patient".into(), "bad".into()], params(Some(V::Num(7.0)), None), false).unwrap();
    let f = failure(wait(&sim, &g));
    sim.settle();
    assert_eq!(f.reason, "worker 'bad' errored");
    assert_eq!(aborted.borrow().as_deref(), Some("worker 'bad' errored"));
    let names: Vec<&str> = f.responses.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["ok", "bad"]);
}

#[test]
fn without_cancel_on_error_the_error_response_is_recorded() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("ok", Some(echo())), worker("bad", Some(handler(|_| Box::pin(async { Err("nope".into()) }))))]);
    let p = JobParams { cancel_on_error: false, ..JobParams::default() };
    let g = r.start_group(vec!["ok".into(), "bad".into()], p, false).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    assert_eq!(g.response_of("bad"), Some(V::error_object("nope")));
}

#[test]
fn sequential_handlers_run_one_at_a_time_in_fifo_order() {
    let sim = Sim::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l, env) = (log.clone(), sim.env());
    let h = handler(move |r| {
        let (l, sleep) = (l.clone(), env.sleep(10.0, true));
        let n = match r.payload { Some(V::Num(n)) => n as i32, _ => -1 };
        Box::pin(async move {
            l.borrow_mut().push(format!("start {n}"));
            sleep.await;
            l.borrow_mut().push(format!("end {n}"));
            Ok(None)
        })
    });
    let w = Worker::new("seq", true);
    w.on_job(Some("step"), h, true).unwrap();
    let r = started(&sim, vec![w]);
    let groups: Vec<_> = (0..3)
        .map(|i| {
            let p = JobParams { name: Some("step".into()), payload: Some(V::Num(i as f64)), ..JobParams::default() };
            r.start_group(vec!["seq".into()], p, false).unwrap()
        })
        .collect();
    sim.block_on(async move {
        for g in groups {
            g.wait().await;
        }
    });
    assert_eq!(*log.borrow(), vec!["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
    assert_eq!(sim.now() - 1_700_000_000_000.0, 30.0);
}

#[test]
fn duplicate_handlers_are_rejected() {
    let w = Worker::<V>::new("w", true);
    w.on_job(Some("a"), echo(), false).unwrap();
    assert!(matches!(w.on_job(Some("a"), echo(), false), Err(ApiError::Error(m)) if m.contains("duplicate handler for job 'a'")));
    w.on_job(None, echo(), false).unwrap();
    assert!(w.on_job(None, echo(), false).is_err());
}

#[test]
fn no_active_job_errors_use_pipecat_strings() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(echo()))]);
    let w = r.get_worker("w").unwrap();
    let e = w.send_job_response("nope", None, JobStatus::Completed, false).unwrap_err();
    assert_eq!(e.to_string(), "Worker 'w': no active job 'nope' to respond to");
    assert_eq!(w.send_job_update("nope", None, false).unwrap_err().to_string(), "Worker 'w': no active job 'nope' to update");
    assert_eq!(w.send_job_stream("nope", StreamPart::Data, None).unwrap_err().to_string(), "Worker 'w': no active job 'nope' to stream");
    let lone = Worker::<V>::new("lone", true);
    assert_eq!(lone.send_job_update("x", None, false).unwrap_err().to_string(), "Worker 'lone' is not attached to a runner");
}

#[test]
fn graceful_end_lets_handlers_finish_within_the_grace_period() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(slow(sim.env(), 30.0)))]);
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    let r2 = r.clone();
    sim.block_on(async move { r2.end(None, 1000.0).await });
    assert!(matches!(g.outcome(), Some(Outcome::Completed)), "the answer within the grace period is delivered");
    assert_eq!(g.response_of("w"), Some(V::obj(&[("done", V::Num(30.0))])));
    assert!(r.is_finished());
}

#[test]
fn end_aborts_handlers_after_the_grace_period() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let t0 = sim.now();
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    let r2 = r.clone();
    sim.block_on(async move { r2.end(None, 200.0).await });
    assert_eq!(sim.now() - t0, 200.0);
    assert_eq!(failure(g.outcome().unwrap()).reason, "worker 'w' stopped", "the worker answered before the runner finished");
}

#[test]
fn cancel_aborts_at_once_and_pending_runner_jobs_fail_runner_exiting() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let t0 = sim.now();
    let waiting = r.start_group(vec!["nobody".into()], params(None, None), false).unwrap();
    let r2 = r.clone();
    sim.block_on(async move { r2.cancel(Some("bye".into())).await });
    assert_eq!(sim.now(), t0);
    assert_eq!(failure(waiting.outcome().unwrap()).reason, "runner exiting");
    assert!(r.get_worker("w").unwrap().is_finished());
}

#[test]
fn cancel_during_end_aborts_at_once() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let t0 = sim.now();
    let r2 = r.clone();
    sim.spawn(async move { r2.end(None, 5000.0).await });
    sim.advance(10.0);
    let r3 = r.clone();
    sim.block_on(async move { r3.cancel(None).await });
    assert_eq!(sim.now() - t0, 10.0);
}

#[test]
fn a_stopped_worker_leaves_and_jobs_to_it_fail_stopped() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(echo())), worker("other", Some(echo()))]);
    let w = r.get_worker("w").unwrap();
    sim.block_on({ let w = w.clone(); async move { w.stop(None, None).await.unwrap() } });
    assert!(!r.registry().has("w"));
    assert!(!r.bus().is_subscribed("w"));
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    let f = failure(g.outcome().expect("fails at once"));
    assert_eq!(f.reason, "worker 'w' stopped");
    assert!(!r.is_finished(), "autoEnd is off and the other root still runs");
}

#[test]
fn a_request_already_queued_for_a_stopping_worker_is_answered_stopped() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let first = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    let w = r.get_worker("w").unwrap();
    sim.spawn({ let w = w.clone(); async move { w.stop(None, Some(50.0)).await.unwrap() } });
    sim.settle();
    let second = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    assert_eq!(failure(second.outcome().unwrap()).reason, "worker 'w' stopped");
    sim.advance(50.0);
    assert_eq!(failure(first.outcome().unwrap()).reason, "worker 'w' stopped");
}

#[test]
fn a_requesting_worker_that_stops_fails_its_groups() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("asker", None), worker("slowpoke", Some(never()))]);
    let asker = r.get_worker("asker").unwrap();
    let g = asker.start_group(vec!["slowpoke".into()], params(None, None), false).unwrap();
    sim.settle();
    asker.cancel(None);
    assert_eq!(failure(g.outcome().unwrap()).reason, "worker 'asker' stopped");
}

#[test]
fn a_worker_sent_cancel_rejects_with_its_reason() {
    let sim = Sim::new();
    let h = handler(|r| Box::pin(async move {
        r.respond(Some(V::reason_object("changed my mind")), JobStatus::Cancelled, false).unwrap();
        Ok(None)
    }));
    let r = started(&sim, vec![worker("w", Some(h))]);
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "changed my mind");
    assert_eq!(f.status, Some(JobStatus::Cancelled));
}

#[test]
fn requester_cancel_before_and_after_the_send() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let early = r.start_group(vec!["later".into()], params(None, None), false).unwrap();
    r.requester().cancel(&early, None);
    assert_eq!(failure(early.outcome().unwrap()).reason, "cancelled");
    sim.settle();
    assert_eq!(r.registry().watch_count(), 0);
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    r.requester().cancel(&g, Some("user".into()));
    sim.settle();
    assert_eq!(failure(g.outcome().unwrap()).reason, "user");
    assert!(r.get_worker("w").unwrap().active_jobs().is_empty(), "the worker got the cancel");
}

#[test]
fn request_cancel_honours_cancellable() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let fixed = r.start_group(vec!["w".into()], JobParams { cancellable: false, ..JobParams::default() }, false).unwrap();
    sim.settle();
    let id = fixed.job_id().unwrap();
    assert!(!r.requester().request_cancel(&id, None));
    assert!(!r.requester().request_cancel("unknown", None));
    let open = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    assert!(r.requester().request_cancel(&open.job_id().unwrap(), None));
    assert!(open.is_done());
}

#[test]
fn registry_register_watch_and_idempotence() {
    let sim = Sim::new();
    let r = runner(&sim, "r1");
    let reg = r.registry().clone();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let h: WatchFn = Rc::new(move |d: ReadyData| {
        c.borrow_mut().push(format!("{}@{}", d.worker_name, d.runner));
        Box::pin(async {})
    });
    let reg2 = reg.clone();
    let h2 = h.clone();
    let (first, again) = sim.block_on(async move {
        reg2.watch("x", Some(WatchKey::Handler(1)), h2.clone()).await;
        reg2.watch("x", Some(WatchKey::Handler(1)), h2.clone()).await;
        let first = reg2.register(ReadyData { worker_name: "x".into(), runner: "r2".into() }).await;
        let again = reg2.register(ReadyData { worker_name: "x".into(), runner: "r2".into() }).await;
        reg2.watch("x", Some(WatchKey::Handler(2)), h2).await; // known: fires at once
        (first, again)
    });
    assert!(first && !again);
    assert_eq!(*calls.borrow(), vec!["x@r2", "x@r2"]);
    assert_eq!(reg.remote_workers(), vec!["x"]);
    assert_eq!(reg.get("x"), Some(ReadyData { worker_name: "x".into(), runner: "r2".into() }));
}

/// Adds each runner's workers and starts it, one runner after the other; then settles.
fn start_in_order(sim: &Sim, runners: Vec<(Runner<V>, Vec<Worker<V>>)>) {
    sim.block_on(async move {
        for (runner, workers) in runners {
            runner.add_workers(workers).await.unwrap();
            runner.start(false).await.unwrap();
        }
    });
    sim.settle();
}

/// Two started runners sharing one bus, the second started after the first.
fn two_runners(sim: &Sim, a_workers: Vec<Worker<V>>, b_workers: Vec<Worker<V>>) -> (Runner<V>, Runner<V>) {
    let bus = Bus::new(sim.env());
    let a = Runner::new(sim.env(), "runner-a".into(), bus.clone()).unwrap();
    let b = Runner::new(sim.env(), "runner-b".into(), bus).unwrap();
    start_in_order(sim, vec![(a.clone(), a_workers), (b.clone(), b_workers)]);
    (a, b)
}

#[test]
fn two_runners_on_one_bus_exchange_snapshots_and_run_jobs_across() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let (a, b) = two_runners(&sim, vec![asker.clone()], vec![worker("echo-b", Some(echo()))]);
    assert_eq!(a.registry().remote_workers(), vec!["echo-b"]);
    assert_eq!(b.registry().remote_workers(), vec!["asker"]);
    let g = asker.start_group(vec!["echo-b".into()], params(Some(V::s("x")), None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(g.response_of("echo-b"), Some(V::s("x")));
    // a duplicate name on the same bus is rejected
    let b3 = b.clone();
    let dup = sim.block_on(async move { b3.add_workers(vec![worker("asker", None)]).await });
    assert!(dup.unwrap_err().to_string().contains("already on the bus"));
}

struct Recorder {
    seen: RefCell<Vec<String>>,
    fail_on: &'static str,
}

impl Subscriber<V> for Recorder {
    fn on_message(self: Rc<Self>, m: &Rc<Message<V>>) -> workbus::core::bus::Handling {
        self.seen.borrow_mut().push(m.type_name().to_string());
        if m.type_name() == self.fail_on {
            return Err("listener failed".into());
        }
        Ok(None)
    }
}

#[test]
fn bus_lanes_system_first_never_inline_errors_do_not_stop_delivery() {
    let sim = Sim::new();
    let bus: Bus<V> = Bus::new(sim.env());
    let rec = Rc::new(Recorder { seen: RefCell::new(Vec::new()), fail_on: "BusJobUpdateMessage" });
    bus.subscribe("rec", rec.clone()).unwrap();
    let upd = |n: f64, urgent| Body::JobUpdate { job_id: "j".into(), update: Some(V::Num(n)), urgent };
    bus.send(Message::new("w", Some("rec".into()), upd(1.0, false)));
    bus.send(Message::new("w", Some("rec".into()), upd(2.0, false)));
    bus.send(Message::new("w", Some("rec".into()), Body::JobCancel { job_id: "j".into(), reason: None }));
    assert!(rec.seen.borrow().is_empty(), "send never calls a subscriber inline");
    sim.settle();
    assert_eq!(*rec.seen.borrow(), vec!["BusJobCancelMessage", "BusJobUpdateMessage", "BusJobUpdateMessage"]);
    assert_eq!(sim.logged("listener failed"), 2);
    assert!(bus.subscribe("rec", rec).is_err(), "a duplicate subscriber name is rejected");
}

#[test]
fn activation_pending_until_start_and_deactivate_self() {
    let sim = Sim::new();
    let a = Worker::<V>::new("a", true);
    let b = Worker::<V>::new("b", false);
    let ea = record_events(&a);
    let eb = record_events(&b);
    let r = started(&sim, vec![a.clone(), b.clone()]);
    assert!(a.is_active() && !b.is_active());
    assert_eq!(ea.borrow().iter().filter(|e| *e == "activated").count(), 1, "active workers activate at start");
    a.activate_worker("b", Some(V::obj(&[("metadata", V::Num(1.0))])), true).unwrap();
    sim.settle();
    assert!(!a.is_active() && b.is_active());
    assert_eq!(b.activation_args(), Some(V::obj(&[("metadata", V::Num(1.0))])));
    assert!(ea.borrow().contains(&"deactivated".to_string()));
    assert!(eb.borrow().contains(&"activated".to_string()));
    a.deactivate_worker("b").unwrap();
    sim.settle();
    assert!(!b.is_active() && b.activation_args().is_none());
    drop(r);
}

#[test]
fn children_added_before_start_are_hosted_and_report_errors_to_their_parent() {
    let sim = Sim::new();
    let parent = worker("parent", None);
    let child = worker("child", Some(echo()));
    let events = record_events(&parent);
    let (p, c) = (parent.clone(), child.clone());
    sim.block_on(async move { p.add_workers(vec![c]).await.unwrap() });
    let r = started(&sim, vec![parent.clone()]);
    sim.settle();
    assert_eq!(child.parent().as_deref(), Some("parent"));
    assert!(r.get_worker("child").is_some(), "a child added before the runner ran is kept");
    assert!(events.borrow().contains(&"workerReady".to_string()));
    child.send_bus_error_message("it broke").unwrap();
    sim.settle();
    assert!(events.borrow().contains(&"workerFailed".to_string()));
    // ending the runner ends the child through its parent
    let r2 = r.clone();
    sim.block_on(async move { r2.end(None, 100.0).await });
    assert!(child.is_finished() && parent.is_finished());
}

#[test]
fn auto_end_finishes_when_every_root_has_finished() {
    let sim = Sim::new();
    let r = runner(&sim, "r");
    let w = worker("w", Some(echo()));
    let (r2, w2) = (r.clone(), w.clone());
    sim.block_on(async move {
        r2.add_workers(vec![w2]).await.unwrap();
        r2.start(true).await.unwrap();
    });
    assert!(!r.is_finished());
    sim.block_on({ let w = w.clone(); async move { w.stop(None, None).await.unwrap() } });
    sim.settle();
    assert!(r.is_finished());
}

#[test]
fn session_end_from_a_worker_ends_every_runner_on_the_bus() {
    let sim = Sim::new();
    let w = worker("w", None);
    let (a, b) = two_runners(&sim, vec![w.clone()], vec![worker("v", None)]);
    w.end_session(Some("done".into())).unwrap();
    sim.block_on(async move {
        a.finished().await;
        b.finished().await;
    });
}

#[test]
fn events_follow_the_workers_own_handling() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let log = record_events(&asker);
    let h = handler(|r| Box::pin(async move {
        r.update(Some(V::Num(1.0)), false).unwrap();
        Ok(Some(V::s("ok")))
    }));
    let _r = started(&sim, vec![asker.clone(), worker("w", Some(h))]);
    log.borrow_mut().clear();
    let g = asker.start_group(vec!["w".into()], params(None, None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(
        *log.borrow(),
        vec!["jobUpdate", "busMessage:BusJobUpdateMessage", "jobResponse", "jobCompleted", "busMessage:BusJobResponseMessage"]
    );
}

/// Records what a bus hands its transport.
struct Wire(RefCell<Vec<String>>);

impl workbus::core::bus::Transport<V> for Wire {
    fn publish(&self, m: &Rc<Message<V>>) -> Result<(), Refusal<V>> {
        self.0.borrow_mut().push(m.type_name().to_string());
        Ok(())
    }
}

#[test]
fn links_carry_what_leaves_relay_between_each_other_and_refuse_local_only_messages() {
    let sim = Sim::new();
    let bus: Bus<V> = Bus::new(sim.env());
    let wire = Rc::new(Wire(RefCell::new(Vec::new())));
    let link = bus.add_link(wire.clone());
    let other = Rc::new(Wire(RefCell::new(Vec::new())));
    bus.add_link(other.clone());
    let rec = Rc::new(Recorder { seen: RefCell::new(Vec::new()), fail_on: "" });
    bus.subscribe("rec", rec.clone()).unwrap();
    bus.send(Message::new("c", None, Body::WorkerLocalError { error: "x".into() }));
    bus.send(Message::new("c", None, Body::WorkerError { error: "x".into() }));
    bus.send(Message::new("c", Some("elsewhere".into()), Body::JobUpdateRequest { job_id: "j".into() }));
    bus.send(Message::new("c", Some("rec".into()), Body::JobUpdateRequest { job_id: "j".into() }));
    bus.receive(Rc::new(Message::new("remote", None, Body::WorkerLocalError { error: "spoofed".into() })), Some(link));
    bus.receive(Rc::new(Message::new("remote", None, Body::Cancel { reason: None })), Some(link));
    sim.settle();
    assert_eq!(*wire.0.borrow(), vec!["BusWorkerErrorMessage", "BusJobUpdateRequestMessage"], "local-only and locally targeted stay here");
    assert_eq!(
        *rec.seen.borrow(),
        vec!["BusWorkerLocalErrorMessage", "BusWorkerErrorMessage", "BusCancelMessage", "BusJobUpdateRequestMessage"]
    );
    assert_eq!(sim.logged("dropped a local-only message"), 1);
    assert_eq!(
        *other.0.borrow(),
        vec!["BusWorkerErrorMessage", "BusJobUpdateRequestMessage", "BusCancelMessage"],
        "what arrives on one link is relayed to the others, never back"
    );
}

#[test]
fn snapshots_are_answered_once_per_new_runner() {
    let sim = Sim::new();
    let (a, b) = two_runners(&sim, vec![worker("a1", None)], vec![worker("b1", None)]);
    let count = |r: &Runner<V>| r.registry().remote_workers().len();
    assert_eq!((count(&a), count(&b)), (1, 1));
    // a new root on b announces b again; a registers it but does not answer a known runner
    let snapshots = Rc::new(RefCell::new(0));
    let s = snapshots.clone();
    let spy = Rc::new(move |_: &Rc<Message<V>>| *s.borrow_mut() += 1);
    type Seen = Rc<dyn Fn(&Rc<Message<V>>)>;
    struct Spy(Seen);
    impl Subscriber<V> for Spy {
        fn on_message(self: Rc<Self>, m: &Rc<Message<V>>) -> workbus::core::bus::Handling {
            if m.type_name() == "BusWorkerRegistryMessage" {
                (self.0)(m);
            }
            Ok(None)
        }
    }
    a.bus().subscribe("spy", Rc::new(Spy(spy))).unwrap();
    let b2 = b.clone();
    sim.block_on(async move { b2.add_workers(vec![worker("b2", None)]).await.unwrap() });
    sim.settle();
    assert_eq!(*snapshots.borrow(), 1, "only b's own announcement, no reply from a");
    assert_eq!(a.registry().remote_workers(), vec!["b1", "b2"]);
}

#[test]
fn jobs_wait_for_readiness_without_a_timeout_and_clean_up() {
    let sim = Sim::new();
    let r = started(&sim, vec![]);
    let g = r.start_group(vec!["x".into(), "y".into()], params(None, None), false).unwrap();
    sim.advance(1000.0);
    assert!(!g.is_sent());
    let r2 = r.clone();
    sim.block_on(async move { r2.add_workers(vec![worker("x", Some(echo()))]).await.unwrap() });
    assert!(!g.is_sent(), "y is still missing");
    let r3 = r.clone();
    sim.block_on(async move { r3.add_workers(vec![worker("y", Some(echo()))]).await.unwrap() });
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    assert_eq!(r.registry().watch_count(), 0);
    assert_eq!(r.requester().open_count(), 0);
}

#[test]
fn a_finished_runner_refuses_new_jobs() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(echo()))]);
    let r2 = r.clone();
    sim.block_on(async move { r2.cancel(None).await });
    let e = r.start_group(vec!["w".into()], params(None, None), false).err().unwrap();
    assert_eq!(e, ApiError::Error("runner 'runner-test' has finished".into()));
    let e = Worker::<V>::new("lone", true).start_group(vec![], params(None, None), false).err().unwrap();
    assert!(matches!(e, ApiError::Type(_)), "argument errors come before attachment errors");
}

// ----- realms joined by links (as postMessage joins a page and its Web Workers) -------------

/// One direction of a link between two buses: delivers later, like postMessage.
struct Pipe {
    env: Env,
    to: RefCell<Option<(Bus<V>, workbus::core::bus::LinkId)>>,
    open: std::cell::Cell<bool>,
}

impl workbus::core::bus::Transport<V> for Pipe {
    fn publish(&self, m: &Rc<Message<V>>) -> Result<(), Refusal<V>> {
        if let (true, Some((bus, id))) = (self.open.get(), self.to.borrow().clone()) {
            let m = m.clone();
            self.env.spawn(Box::pin(async move { bus.receive(m, Some(id)) }));
        }
        Ok(())
    }
}

/// Links two buses both ways; the returned pipes can be cut to simulate a dead realm.
fn link(sim: &Sim, a: &Bus<V>, b: &Bus<V>) -> (Rc<Pipe>, Rc<Pipe>) {
    let pipe = || Rc::new(Pipe { env: sim.env(), to: RefCell::new(None), open: std::cell::Cell::new(true) });
    let (ab, ba) = (pipe(), pipe());
    let id_a = a.add_link(ab.clone());
    let id_b = b.add_link(ba.clone());
    *ab.to.borrow_mut() = Some((b.clone(), id_b));
    *ba.to.borrow_mut() = Some((a.clone(), id_a));
    (ab, ba)
}

const FAST: workbus::core::runner::Liveness = workbus::core::runner::Liveness { interval: 100.0, misses: 3 };

/// A page runner and a realm runner on linked buses, both started, with fast heartbeats.
fn realms(sim: &Sim, page_workers: Vec<Worker<V>>, realm_workers: Vec<Worker<V>>) -> (Runner<V>, Runner<V>, Rc<Pipe>, Rc<Pipe>) {
    let (bus_a, bus_b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    let (ab, ba) = link(sim, &bus_a, &bus_b);
    let page = Runner::new(sim.env(), "page".into(), bus_a).unwrap();
    let realm = Runner::new(sim.env(), "realm".into(), bus_b).unwrap();
    page.set_liveness(FAST);
    realm.set_liveness(FAST);
    start_in_order(sim, vec![(page.clone(), page_workers), (realm.clone(), realm_workers)]);
    (page, realm, ab, ba)
}

#[test]
fn linked_realms_exchange_snapshots_and_run_jobs_both_ways_with_cancels_crossing() {
    let sim = Sim::new();
    let (patient, seen) = patient();
    let asker = worker("asker", Some(echo()));
    let remote_asker = worker("remote-asker", None);
    let (page, _realm, _, _) = realms(&sim, vec![asker.clone()], vec![worker("ocr", Some(echo())), worker("patient", Some(patient)), remote_asker.clone()]);
    assert_eq!(page.registry().remote_workers(), vec!["ocr", "patient", "remote-asker"]);
    let g = asker.start_group(vec!["ocr".into()], params(Some(V::s("scan")), None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(g.response_of("ocr"), Some(V::s("scan")));
    let back = remote_asker.start_group(vec!["asker".into()], params(Some(V::s("hi")), None), false).unwrap();
    wait(&sim, &back);
    assert_eq!(back.response_of("asker"), Some(V::s("hi")), "jobs go both ways");
    let slow = asker.start_group(vec!["patient".into()], params(None, Some(50.0)), false).unwrap();
    let f = failure(wait(&sim, &slow));
    assert_eq!(f.reason, "timeout");
    sim.settle();
    assert_eq!(seen.borrow().as_deref(), Some("timeout"), "the cancel crossed to the other realm's handler");
}

#[test]
fn a_silent_realm_is_gone_after_the_missed_heartbeats_and_its_jobs_fail_stopped() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let (page, _realm, ab, ba) = realms(&sim, vec![asker.clone()], vec![worker("stuck", Some(never()))]);
    sim.advance(250.0); // heartbeats flow: both sides now track each other
    let g = asker.start_group(vec!["stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    let cut_at = sim.now();
    ab.open.set(false);
    ba.open.set(false); // the realm is terminated: nothing more comes from it
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "worker 'stuck' stopped");
    let waited = sim.now() - cut_at;
    assert!(waited > 200.0 && waited <= 400.0, "gone after 3 missed heartbeats of 100 ms, waited {waited}");
    assert!(!page.registry().has("stuck"));
}

#[test]
fn a_realm_that_ends_says_goodbye_and_workers_can_come_back() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let (page, realm, _, _) = realms(&sim, vec![asker.clone()], vec![worker("ocr", Some(never())), worker("spare", None)]);
    let back = Rc::new(RefCell::new(0));
    let b = back.clone();
    let reg = page.registry().clone();
    sim.block_on(async move {
        reg.watch("ocr", Some(WatchKey::Handler(7)), Rc::new(move |_| { *b.borrow_mut() += 1; Box::pin(async {}) })).await;
    });
    assert_eq!(*back.borrow(), 1);
    // one worker stops: the realm's new snapshot no longer lists it
    let spare = realm.get_worker("spare").unwrap();
    sim.block_on(async move { spare.stop(None, None).await.unwrap() });
    sim.settle();
    assert_eq!(page.registry().remote_workers(), vec!["ocr"]);
    let g = asker.start_group(vec!["ocr".into()], params(None, None), false).unwrap();
    sim.settle();
    let t0 = sim.now();
    let r2 = realm.clone();
    sim.block_on(async move { r2.cancel(None).await });
    sim.settle();
    assert_eq!(failure(g.outcome().unwrap()).reason, "worker 'ocr' stopped");
    assert_eq!(sim.now(), t0, "no heartbeat wait after a goodbye");
    assert!(page.registry().remote_workers().is_empty());
    // a new realm brings "ocr" back: watchers fire again
    let bus_c = Bus::new(sim.env());
    link(&sim, page.bus(), &bus_c);
    let again = Runner::new(sim.env(), "realm-2".into(), bus_c).unwrap();
    sim.block_on(async move {
        again.add_workers(vec![worker("ocr", Some(echo()))]).await.unwrap();
        again.start(false).await.unwrap();
    });
    sim.settle();
    assert_eq!(*back.borrow(), 2);
    let g = asker.start_group(vec!["ocr".into()], params(Some(V::Num(1.0)), None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(g.response_of("ocr"), Some(V::Num(1.0)));
}

#[test]
fn a_requester_realm_that_is_gone_aborts_its_jobs_here() {
    let sim = Sim::new();
    let (patient, aborted) = patient();
    let remote_asker = worker("remote-asker", None);
    let (page, realm, _, _) = realms(&sim, vec![worker("patient", Some(patient))], vec![remote_asker.clone()]);
    remote_asker.start_group(vec!["patient".into()], params(None, None), false).unwrap();
    sim.settle();
    assert_eq!(page.get_worker("patient").unwrap().active_jobs().len(), 1);
    page.remote_runner_gone(realm.name());
    assert_eq!(aborted.borrow().as_deref(), Some("worker 'remote-asker' stopped"));
    assert!(page.get_worker("patient").unwrap().active_jobs().is_empty());
}

#[test]
fn a_realm_that_goes_silent_right_after_announcing_itself_is_still_detected() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let (_page, _realm, ab, ba) = realms(&sim, vec![asker.clone()], vec![worker("stuck", Some(never()))]);
    let g = asker.start_group(vec!["stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    ab.open.set(false);
    ba.open.set(false);
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "worker 'stuck' stopped");
}

#[test]
fn realms_find_each_other_again_after_an_outage() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let (page, realm, ab, ba) = realms(&sim, vec![asker.clone()], vec![worker("ocr", Some(echo()))]);
    let stuck = asker.start_group(vec!["ocr".into()], params(None, None), false).unwrap();
    ab.open.set(false);
    ba.open.set(false);
    sim.advance(1000.0); // both sides miss each other's heartbeats
    assert_eq!(failure(stuck.outcome().unwrap()).reason, "worker 'ocr' stopped");
    assert!(page.registry().remote_workers().is_empty() && realm.registry().remote_workers().is_empty());
    ab.open.set(true);
    ba.open.set(true);
    sim.advance(300.0); // a heartbeat from a stranger gets a snapshot, and one back
    assert_eq!(page.registry().remote_workers(), vec!["ocr"]);
    assert_eq!(realm.registry().remote_workers(), vec!["asker"]);
    let g = asker.start_group(vec!["ocr".into()], params(Some(V::s("again")), None), false).unwrap();
    wait(&sim, &g);
    assert_eq!(g.response_of("ocr"), Some(V::s("again")));
}

/// A started runner `name` on `bus`, with fast heartbeats, hosting `workers`.
fn fast_runner(sim: &Sim, name: &str, bus: Bus<V>, workers: Vec<Worker<V>>) -> Runner<V> {
    let runner = Runner::new(sim.env(), name.into(), bus).unwrap();
    runner.set_liveness(FAST);
    start_in_order(sim, vec![(runner.clone(), workers)]);
    runner
}

/// A snapshot from runner `runner` listing one worker `name`.
fn snapshot_of(runner: &str, name: &str) -> Message<V> {
    let entry = workbus::core::registry::RegistryEntry { name: name.into(), parent: None, active: true, bridged: false, started_at: None };
    Message::new(runner, None, Body::WorkerRegistry { runner: runner.into(), workers: vec![entry] })
}

/// Cuts the link both ways and lets the liveness window (300 ms) and one check pass: the pending
/// job `g` must have failed with "worker '<worker>' stopped".
fn cut_and_expect_stopped(sim: &Sim, pipes: (&Pipe, &Pipe), g: &workbus::core::job::JobGroup<V>, worker: &str) {
    pipes.0.open.set(false);
    pipes.1.open.set(false);
    sim.advance(400.0);
    let f = failure(g.outcome().expect("the job still waits on a runner that went silent"));
    assert_eq!(f.reason, format!("worker '{worker}' stopped"));
}

#[test]
fn a_runner_whose_first_heartbeat_came_before_its_snapshot_is_gone_when_it_goes_silent() {
    // A realm's first heartbeat may arrive before its snapshot (the runner does not know it yet
    // then); if it goes silent before the next one, it must still be detected.
    let sim = Sim::new();
    let (bus_a, bus_b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    let (ab, ba) = link(&sim, &bus_a, &bus_b);
    let asker = worker("asker", None);
    let page = fast_runner(&sim, "page", bus_a, vec![asker.clone()]);
    bus_b.send(Message::new("ghost", None, Body::System));
    bus_b.send(snapshot_of("ghost", "stuck"));
    sim.settle();
    assert!(page.registry().has("stuck"));
    let g = asker.start_group(vec!["stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    cut_and_expect_stopped(&sim, (&ab, &ba), &g, "stuck");
    assert!(!page.registry().has("stuck"));
}

#[test]
fn a_runner_that_started_first_is_gone_when_it_goes_silent_before_its_next_heartbeat() {
    // The realm's first heartbeat reaches the page's bus before the page's runner listens; the
    // realm answers the page's snapshot with its own and a heartbeat, so its silence still counts.
    let sim = Sim::new();
    let (bus_a, bus_b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    let (ab, ba) = link(&sim, &bus_a, &bus_b);
    fast_runner(&sim, "realm", bus_b, vec![worker("stuck", Some(never()))]);
    let asker = worker("asker", None);
    let page = fast_runner(&sim, "page", bus_a, vec![asker.clone()]);
    assert!(page.registry().has("stuck"));
    let g = asker.start_group(vec!["stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    cut_and_expect_stopped(&sim, (&ab, &ba), &g, "stuck");
}

#[test]
fn a_runner_that_never_sends_heartbeats_like_pipecat_s_is_never_expired() {
    let sim = Sim::new();
    let (bus_a, bus_b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    link(&sim, &bus_a, &bus_b);
    let page = fast_runner(&sim, "page", bus_a, vec![]);
    bus_b.send(snapshot_of("runner-py", "py-worker"));
    sim.settle();
    sim.advance(10_000.0); // many liveness windows
    assert!(page.registry().has("py-worker"), "a runner that never heartbeats keeps its workers");
}

// ----- causes, late handler errors, registry events ---------------------------------------------

#[test]
fn a_failure_keeps_what_the_handler_threw_as_its_cause() {
    let sim = Sim::new();
    let thrown: JobHandler<V> = Rc::new(|_| Box::pin(async { Err(Thrown { message: "boom".into(), value: Some(V::s("the thrown value")) }) }));
    let r = started(&sim, vec![worker("bad", Some(thrown)), worker("ok", Some(echo()))]);
    let g = r.start_group(vec!["bad".into()], params(None, None), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.reason, "worker 'bad' errored");
    assert_eq!(f.response, Some(V::error_object("boom")));
    assert_eq!(f.cause, Some(V::s("the thrown value")));
    let group = r.start_group(vec!["ok".into(), "bad".into()], params(None, None), false).unwrap();
    assert_eq!(failure(wait(&sim, &group)).cause, Some(V::s("the thrown value")), "a group's failure too");
}

#[test]
fn an_error_answer_without_a_carried_cause_gets_an_error_made_from_its_message() {
    let sim = Sim::new();
    let answer = |status: JobStatus| -> JobHandler<V> {
        Rc::new(move |req: JobRequest<V>| {
            req.respond(Some(V::error_object("from a peer")), status, false).unwrap();
            Box::pin(async { Ok(None) })
        })
    };
    let r = started(&sim, vec![worker("errs", Some(answer(JobStatus::Error))), worker("fails", Some(answer(JobStatus::Failed)))]);
    let g = r.start_group(vec!["errs".into()], params(None, None), false).unwrap();
    assert_eq!(failure(wait(&sim, &g)).cause, Some(V::error_from_message("from a peer")));
    let g = r.start_group(vec!["fails".into()], params(None, None), false).unwrap();
    assert_eq!(failure(wait(&sim, &g)).cause, None, "a `failed` answer was not thrown");
}

#[test]
fn a_requester_cancel_keeps_its_cause_before_and_after_the_send() {
    let sim = Sim::new();
    let r = started(&sim, vec![worker("w", Some(never()))]);
    let early = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    r.requester().cancel_because(&early, Some("early".into()), Some(V::s("why early")));
    let f = failure(early.outcome().unwrap());
    assert_eq!((f.reason.as_str(), f.cause.clone()), ("early", Some(V::s("why early"))));
    let sent = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    sim.settle();
    r.requester().cancel_because(&sent, None, Some(V::s("why")));
    let f = failure(wait(&sim, &sent));
    assert_eq!((f.reason.as_str(), f.cause.clone()), ("cancelled", Some(V::s("why"))));
}

#[test]
fn a_handler_that_throws_after_its_job_was_answered_is_reported_on_error_and_logged() {
    let sim = Sim::new();
    let late: JobHandler<V> = Rc::new(|req: JobRequest<V>| {
        req.respond(Some(V::s("early")), JobStatus::Completed, false).unwrap();
        Box::pin(async { Err(Thrown { message: "too late".into(), value: Some(V::s("late error")) }) })
    });
    let w = worker("w", Some(late));
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e = errors.clone();
    w.set_event_sink(Some(Rc::new(move |ev: WorkerEvent<V>| if let WorkerEvent::Error(v) = ev { e.borrow_mut().push(v) })), u32::MAX);
    let r = started(&sim, vec![w]);
    let g = r.start_group(vec!["w".into()], params(None, None), false).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    sim.settle();
    assert_eq!(*errors.borrow(), vec![V::s("late error")]);
    assert_eq!(sim.logged("the handler of job"), 1);
    assert_eq!(sim.logged("too late"), 1);
}

#[test]
fn a_handler_that_throws_after_its_job_was_cancelled_is_not_an_error() {
    let sim = Sim::new();
    let stopping: JobHandler<V> = Rc::new(|req: JobRequest<V>| {
        let abort = req.abort.clone();
        Box::pin(async move {
            abort.wait().await;
            Err(Thrown::from("AbortError"))
        })
    });
    let w = worker("w", Some(stopping));
    let events = record_events(&w);
    let r = started(&sim, vec![w]);
    let g = r.start_group(vec!["w".into()], params(None, Some(10.0)), false).unwrap();
    assert_eq!(failure(wait(&sim, &g)).reason, "timeout");
    sim.settle();
    assert!(!events.borrow().iter().any(|e| e == "error"), "{:?}", events.borrow());
    assert_eq!(sim.logged("threw after the job was answered"), 0);
}

#[test]
fn worker_watches_and_handler_watches_have_separate_key_spaces() {
    let sim = Sim::new();
    let r = runner(&sim, "r1");
    let reg = r.registry().clone();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let watcher = |who: &'static str| -> WatchFn {
        let c = calls.clone();
        Rc::new(move |_| {
            c.borrow_mut().push(who);
            Box::pin(async {})
        })
    };
    let (by_worker, by_handler) = (watcher("worker 1"), watcher("handler 1"));
    sim.block_on(async move {
        reg.watch("x", Some(WatchKey::Worker(1)), by_worker).await;
        reg.watch("x", Some(WatchKey::Handler(1)), by_handler).await;
        reg.register(ReadyData { worker_name: "x".into(), runner: "r2".into() }).await;
    });
    assert_eq!(*calls.borrow(), vec!["worker 1", "handler 1"]);
}

/// Records a registry's events as "ready x@r" / "gone x@r (reason)".
fn record_registry(reg: &workbus::core::registry::Registry) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    reg.set_event_sink(Some(Rc::new(move |e: RegistryEvent| {
        l.borrow_mut().push(match e {
            RegistryEvent::Ready(d) => format!("ready {}@{}", d.worker_name, d.runner),
            RegistryEvent::Gone(d, reason) => format!("gone {}@{} ({})", d.worker_name, d.runner, reason.as_str()),
        })
    })));
    log
}

#[test]
fn the_registry_reports_local_workers_ready_and_gone_when_they_stop() {
    let sim = Sim::new();
    let r = runner(&sim, "r1");
    let events = record_registry(r.registry());
    let w = worker("w", Some(echo()));
    let (r2, w2) = (r.clone(), w.clone());
    sim.block_on(async move {
        r2.add_workers(vec![w2.clone()]).await.unwrap();
        r2.start(false).await.unwrap();
        w2.stop(None, None).await.unwrap();
    });
    assert_eq!(*events.borrow(), vec!["ready w@r1", "gone w@r1 (stopped)"]);
    assert_eq!(GoneReason::Stopped.as_str(), "stopped");
}

#[test]
fn the_registry_reports_remote_workers_and_why_they_left() {
    let sim = Sim::new();
    let (page, realm, _, _) = realms(&sim, vec![], vec![worker("ocr", Some(echo())), worker("spare", None)]);
    let events = record_registry(page.registry());
    // Recorded from now: a worker that stops is listed no more.
    let spare = realm.get_worker("spare").unwrap();
    sim.block_on(async move { spare.stop(None, None).await }).unwrap();
    sim.settle();
    assert_eq!(*events.borrow(), vec!["gone spare@realm (stopped)"]);
    // The realm ends: its goodbye takes the rest.
    let r = realm.clone();
    sim.block_on(async move { r.end(None, 100.0).await });
    sim.settle();
    assert_eq!(events.borrow()[1..], ["gone ocr@realm (runner ended)"]);
    // Another realm serves "ocr": ready again; then it goes silent.
    let bus_c = Bus::new(sim.env());
    let (ac, ca) = link(&sim, page.bus(), &bus_c);
    let again = Runner::new(sim.env(), "realm-2".into(), bus_c).unwrap();
    again.set_liveness(FAST);
    let a = again.clone();
    sim.block_on(async move {
        a.add_workers(vec![worker("ocr", Some(echo()))]).await.unwrap();
        a.start(false).await.unwrap();
    });
    sim.settle();
    sim.advance(250.0);
    assert_eq!(events.borrow()[2..], ["ready ocr@realm-2"]);
    assert_eq!(page.registry().instances("ocr"), vec![ReadyData { worker_name: "ocr".into(), runner: "realm-2".into() }]);
    ac.open.set(false);
    ca.open.set(false);
    sim.advance(500.0);
    assert_eq!(events.borrow()[3..], ["gone ocr@realm-2 (runner silent)"]);
    assert!(page.registry().instances("ocr").is_empty());
}

#[test]
fn a_terminated_realm_s_workers_are_gone_because_their_runner_ended() {
    let sim = Sim::new();
    let (page, realm, _, _) = realms(&sim, vec![], vec![worker("ocr", Some(echo()))]);
    let events = record_registry(page.registry());
    page.remote_runner_gone(realm.name());
    assert_eq!(*events.borrow(), vec!["gone ocr@realm (runner ended)"]);
}

#[test]
fn instances_lists_every_runner_hosting_a_name_local_first() {
    let sim = Sim::new();
    let r = runner(&sim, "r1");
    let reg = r.registry().clone();
    let w = worker("ocr", Some(echo()));
    let (r2, reg2) = (r.clone(), reg.clone());
    sim.block_on(async move {
        reg2.register(ReadyData { worker_name: "ocr".into(), runner: "far".into() }).await;
        r2.add_workers(vec![w]).await.unwrap();
        r2.start(false).await.unwrap();
    });
    let runners: Vec<String> = reg.instances("ocr").into_iter().map(|d| d.runner).collect();
    assert_eq!(runners, vec!["r1", "far"]);
    assert!(reg.instances("nobody").is_empty());
}

// ----- links that refuse a value (a structured clone that fails) -----------------------------

/// A link that refuses every message carrying `V::s("fn")` (as postMessage refuses a function).
struct Refusing(Rc<Pipe>);

impl workbus::core::bus::Transport<V> for Refusing {
    fn publish(&self, m: &Rc<Message<V>>) -> Result<(), Refusal<V>> {
        let value = match &m.body {
            Body::JobRequest { payload, .. } => payload,
            Body::JobResponse { response, .. } => response,
            Body::JobUpdate { update, .. } => update,
            Body::JobStreamStart { data, .. } | Body::JobStreamData { data, .. } | Body::JobStreamEnd { data, .. } => data,
            _ => &None,
        };
        if value.as_ref() == Some(&V::s("fn")) {
            return Err(Refusal { message: "fn could not be cloned".into(), cause: Some(V::s("DataCloneError")) });
        }
        self.0.publish(m)
    }
}

/// A page runner and a realm runner joined by refusing links; each bus counts its refusals.
fn refusing_realms(sim: &Sim, page_workers: Vec<Worker<V>>, realm_workers: Vec<Worker<V>>) -> (Rc<RefCell<Vec<String>>>, Rc<RefCell<Vec<String>>>) {
    let (a, b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    let pipe = || Rc::new(Pipe { env: sim.env(), to: RefCell::new(None), open: std::cell::Cell::new(true) });
    let (ab, ba) = (pipe(), pipe());
    let id_a = a.add_link(Rc::new(Refusing(ab.clone())));
    let id_b = b.add_link(Rc::new(Refusing(ba.clone())));
    *ab.to.borrow_mut() = Some((b.clone(), id_b));
    *ba.to.borrow_mut() = Some((a.clone(), id_a));
    let reported = |bus: &Bus<V>| {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        bus.on_refused(Some(Rc::new(move |m: &Message<V>, r: &Refusal<V>| s.borrow_mut().push(format!("{}: {}", m.type_name(), r.message)))));
        seen
    };
    let (page_refused, realm_refused) = (reported(&a), reported(&b));
    let page = Runner::new(sim.env(), "page".into(), a).unwrap();
    let realm = Runner::new(sim.env(), "realm".into(), b).unwrap();
    start_in_order(sim, vec![(page.clone(), page_workers), (realm.clone(), realm_workers)]);
    (page_refused, realm_refused)
}

#[test]
fn a_value_a_link_refuses_fails_its_job_at_once_and_is_reported() {
    let sim = Sim::new();
    let asker = worker("asker", None);
    let answers = worker("answers", Some(handler(|_| Box::pin(async { Ok(Some(V::s("fn"))) }))));
    let sent: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(Vec::new()));
    let s = sent.clone();
    let updates = worker(
        "updates",
        Some(handler(move |r| {
            for result in [r.update(Some(V::s("fn")), false), r.stream(StreamPart::Data, Some(V::s("fn"))), r.stream(StreamPart::End, Some(V::s("fn")))] {
                match result {
                    Err(workbus::core::worker::SendError::Refused(refusal)) => s.borrow_mut().push(format!("{} / {:?}", refusal.message, refusal.cause)),
                    other => s.borrow_mut().push(format!("unexpected: {other:?}")),
                }
            }
            Box::pin(async { Ok(Some(V::s("still answered"))) })
        })),
    );
    let (page_refused, realm_refused) = refusing_realms(&sim, vec![asker.clone()], vec![worker("echo", Some(echo())), answers, updates]);

    // a payload: the job fails before any deadline, with the link's error as its cause
    let t0 = sim.now();
    let g = asker.start_group(vec!["echo".into()], params(Some(V::s("fn")), Some(1000.0)), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(sim.now(), t0, "at once, not after a timeout");
    assert_eq!(f.reason, "could not send the job to worker 'echo': fn could not be cloned");
    assert_eq!((f.worker_name.as_deref(), f.cause.clone()), (Some("echo"), Some(V::s("DataCloneError"))));
    assert_eq!(asker.requester().open_count(), 0);
    assert_eq!(*page_refused.borrow(), vec!["BusJobRequestMessage: fn could not be cloned"]);

    // a response: the job is answered `error` with the refusal's message
    let g = asker.start_group(vec!["answers".into()], params(None, Some(1000.0)), false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(sim.now(), t0);
    assert_eq!((f.reason.as_str(), f.status), ("worker 'answers' errored", Some(JobStatus::Error)));
    assert_eq!(f.response, Some(V::error_object("fn could not be cloned")));

    // an update or stream chunk: the handler's call fails and the job stays active
    let g = asker.start_group(vec!["updates".into()], params(None, Some(1000.0)), true).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    assert_eq!(g.response_of("updates"), Some(V::s("still answered")), "a refused stream end did not end the job");
    assert!(matches!(g.next_event(), NextEvent::Completed), "no event crossed");
    let job = |what: &str| format!("Worker 'updates': could not send {what} of job '{}': fn could not be cloned / Some(Str(\"DataCloneError\"))", g.job_id().unwrap());
    assert_eq!(*sent.borrow(), vec![job("an update"), job("a stream message"), job("a stream message")]);
    assert_eq!(
        *realm_refused.borrow(),
        ["BusJobResponseMessage", "BusJobUpdateMessage", "BusJobStreamDataMessage", "BusJobStreamEndMessage"].map(|t| format!("{t}: fn could not be cloned"))
    );
}

#[test]
fn a_message_one_link_carries_is_sent_though_another_link_refuses_it() {
    let sim = Sim::new();
    let bus: Bus<V> = Bus::new(sim.env());
    let carried = Rc::new(Wire(RefCell::new(Vec::new())));
    let refusing = Rc::new(Refusing(Rc::new(Pipe { env: sim.env(), to: RefCell::new(None), open: std::cell::Cell::new(true) })));
    bus.add_link(refusing.clone());
    let request = || Message::new("asker", Some("far".into()), Body::JobRequest { job_id: "j".into(), job_name: None, payload: Some(V::s("fn")), attempt: None });
    assert_eq!(bus.try_send(request()).unwrap_err().message, "fn could not be cloned", "refused by its only link");
    bus.add_link(carried.clone());
    let reported = Rc::new(RefCell::new(0));
    let r = reported.clone();
    bus.on_refused(Some(Rc::new(move |_: &Message<V>, _: &Refusal<V>| *r.borrow_mut() += 1)));
    assert!(bus.try_send(request()).is_ok(), "the other link carried it");
    assert_eq!(*carried.0.borrow(), vec!["BusJobRequestMessage"]);
    assert_eq!(*reported.borrow(), 1, "the refusal is still reported");
}

#[test]
fn stop_on_a_worker_not_attached_to_a_runner_fails_naming_it() {
    let sim = Sim::new();
    let w = worker("loose", Some(echo()));
    let result = sim.block_on(async move { w.stop(None, None).await });
    assert_eq!(result, Err(ApiError::Error("Worker 'loose' is not attached to a runner".into())));
}

/// The warnings logged so far, in order.
fn warnings(sim: &Sim) -> Vec<String> {
    sim.env.logs.borrow().iter().filter(|(l, _)| *l == workbus::core::platform::LogLevel::Warn).map(|(_, m)| m.clone()).collect()
}

#[test]
fn a_job_waiting_for_a_worker_that_is_not_ready_warns_once_after_the_delay_naming_it() {
    use workbus::core::job::NOT_READY_WARNING_MS;
    assert_eq!(NOT_READY_WARNING_MS, 5000.0);
    let sim = Sim::new();
    let r = started(&sim, vec![worker("here", Some(echo()))]);
    let named = JobParams { name: Some("summarize".into()), ..JobParams::default() };
    let g = r.start_group(vec!["here".into(), "late".into(), "never".into()], named, false).unwrap();
    sim.advance(NOT_READY_WARNING_MS - 1.0);
    assert!(warnings(&sim).is_empty(), "no warning before the delay");
    let r2 = r.clone();
    sim.block_on(async move { r2.add_workers(vec![worker("late", Some(echo()))]).await.unwrap() });
    sim.advance(1.0);
    assert_eq!(
        warnings(&sim),
        vec!["job 'summarize' from 'runner-test' has waited 5000 ms for worker 'never' that is not ready; it waits until it is ready or its timeout, if any, passes"],
        "exactly at the delay, naming only the worker still missing"
    );
    sim.advance(60_000.0);
    assert_eq!(warnings(&sim).len(), 1, "once per job");
    assert!(!g.is_sent());
    let r3 = r.clone();
    sim.block_on(async move { r3.add_workers(vec![worker("never", Some(echo()))]).await.unwrap() });
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    assert_eq!(warnings(&sim).len(), 1);
}

#[test]
fn no_readiness_warning_for_jobs_that_are_sent_or_settle_before_the_delay() {
    let sim = Sim::new();
    let r = started(&sim, vec![]);
    let ready_later = r.start_group(vec!["x".into()], params(None, None), false).unwrap();
    let timed_out = r.start_group(vec!["y".into()], params(None, Some(1000.0)), false).unwrap();
    let cancelled = r.start_group(vec!["z".into()], params(None, None), false).unwrap();
    sim.advance(4000.0);
    let r2 = r.clone();
    sim.block_on(async move { r2.add_workers(vec![worker("x", Some(echo()))]).await.unwrap() });
    r.requester().cancel(&cancelled, None);
    assert!(matches!(wait(&sim, &ready_later), Outcome::Completed));
    assert_eq!(failure(wait(&sim, &timed_out)).reason, "workers not ready within timeout");
    sim.advance(10_000.0);
    assert!(warnings(&sim).is_empty(), "{:?}", warnings(&sim));
}

#[test]
fn the_readiness_warning_delay_is_a_runner_setting_that_its_workers_follow() {
    let sim = Sim::new();
    let caller = worker("caller", None);
    let r = runner(&sim, "runner-test");
    r.set_not_ready_warning(250.0);
    let (r2, c2) = (r.clone(), caller.clone());
    sim.block_on(async move {
        r2.add_workers(vec![c2]).await.unwrap();
        r2.start(false).await.unwrap();
    });
    let _waiting = caller.start_group(vec!["a".into(), "b".into()], params(None, None), false).unwrap();
    sim.advance(249.0);
    assert!(warnings(&sim).is_empty());
    sim.advance(1.0);
    assert_eq!(
        warnings(&sim),
        vec!["a job from 'caller' has waited 250 ms for workers 'a', 'b' that are not ready; it waits until they are ready or its timeout, if any, passes"]
    );
}

#[test]
fn send_bus_message_reaches_peers_with_the_worker_as_source_and_refuses_others() {
    let sim = Sim::new();
    let sender = worker("sender", None);
    let peer = worker("peer", None);
    let events = record_events(&peer);
    let _r = started(&sim, vec![sender.clone(), peer.clone()]);
    sim.settle();
    let tts = Body::TtsSpeak { text: "hello".into(), append_to_context: false };
    sender.send_bus_message(Message::new("sender", Some("peer".into()), tts)).unwrap();
    sim.settle();
    assert!(events.borrow().contains(&"busMessage:BusTTSSpeakMessage".to_string()), "{:?}", events.borrow());
    match sender.send_bus_message(Message::new("someone-else", None, Body::Data)) {
        Err(ApiError::Type(m)) => assert!(m.contains("message.source") && m.contains("someone-else"), "{m}"),
        _ => panic!("a foreign source is a TypeError"),
    }
    let local = Body::WorkerLocalError { error: "x".into() };
    match sender.send_bus_message(Message::new("sender", None, local)) {
        Err(ApiError::Type(m)) => assert!(m.contains("BusWorkerLocalErrorMessage is local-only"), "{m}"),
        _ => panic!("a local-only type is a TypeError"),
    }
    match worker("loose", None).send_bus_message(Message::new("loose", None, Body::Data)) {
        Err(ApiError::Error(m)) => assert!(m.contains("not attached"), "{m}"),
        _ => panic!("an unattached worker cannot send"),
    }
}

/// Records `Type source->target` of every message on a bus.
struct Tap(Rc<RefCell<Vec<String>>>);

impl Subscriber<V> for Tap {
    fn on_message(self: Rc<Self>, m: &Rc<Message<V>>) -> workbus::core::bus::Handling {
        self.0.borrow_mut().push(format!("{} {}->{}", m.type_name(), m.source, m.target.as_deref().unwrap_or("*")));
        Ok(None)
    }
}

fn tap(bus: &Bus<V>) -> Rc<RefCell<Vec<String>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    bus.observe(Rc::new(Tap(seen.clone())));
    seen
}

#[test]
fn a_parent_adding_a_child_announces_it_with_an_add_worker_message_and_hosts_it_once() {
    let sim = Sim::new();
    let parent = worker("parent", None);
    let r = started(&sim, vec![parent.clone()]);
    let seen = tap(r.bus());
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e = errors.clone();
    r.set_event_sink(Some(Rc::new(move |ev: workbus::core::runner::RunnerEvent| if let workbus::core::runner::RunnerEvent::Error(m) = ev { e.borrow_mut().push(m) })));
    let (p, child) = (parent.clone(), worker("child", Some(echo())));
    let c = child.clone();
    sim.block_on(async move { p.add_workers(vec![c]).await.unwrap() });
    sim.settle();
    assert!(seen.borrow().contains(&"BusAddWorkerMessage parent->*".to_string()), "{:?}", seen.borrow());
    assert!(r.get_worker("child").is_some());
    assert!(errors.borrow().is_empty(), "the runner takes the message as done: {:?}", errors.borrow());
    let g = r.start_group(vec!["child".into()], params(Some(V::s("x")), None), false).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
}

#[test]
fn runner_cancel_sends_cancel_worker_messages_to_its_roots_only() {
    let sim = Sim::new();
    let (a, b, child) = (worker("a", None), worker("b", None), worker("child", None));
    let a2 = a.clone();
    let c2 = child.clone();
    sim.block_on(async move { a2.add_workers(vec![c2]).await.unwrap() });
    let r = started(&sim, vec![a.clone(), b.clone()]);
    sim.settle();
    let seen = tap(r.bus());
    let r2 = r.clone();
    sim.block_on(async move { r2.cancel(Some("bye".into())).await });
    sim.settle();
    let cancels: Vec<String> = seen.borrow().iter().filter(|m| m.starts_with("BusCancelWorkerMessage runner-test->")).cloned().collect();
    assert_eq!(cancels, vec!["BusCancelWorkerMessage runner-test->a", "BusCancelWorkerMessage runner-test->b"]);
    assert!(seen.borrow().contains(&"BusCancelWorkerMessage a->child".to_string()), "the parent passes it on: {:?}", seen.borrow());
    assert!(a.is_finished() && b.is_finished() && child.is_finished());
}

#[test]
fn a_worker_activated_before_it_started_announces_inactive_like_pipecat() {
    let sim = Sim::new();
    let r = runner(&sim, "r");
    let seen = Rc::new(RefCell::new(Vec::new()));
    struct Ready(Rc<RefCell<Vec<(String, bool)>>>);
    impl Subscriber<V> for Ready {
        fn on_message(self: Rc<Self>, m: &Rc<Message<V>>) -> workbus::core::bus::Handling {
            if let Body::WorkerReady { active, .. } = &m.body {
                self.0.borrow_mut().push((m.source.to_string(), *active));
            }
            Ok(None)
        }
    }
    r.bus().observe(Rc::new(Ready(seen.clone())));
    let (lazy, eager, boss) = (Worker::new("lazy", false), Worker::new("eager", true), worker("boss", None));
    let events = record_events(&lazy);
    let (r2, l, e, b) = (r.clone(), lazy.clone(), eager.clone(), boss.clone());
    sim.block_on(async move { r2.add_workers(vec![l, e, b]).await.unwrap() });
    boss.activate_worker("lazy", None, false).unwrap();
    sim.settle();
    let r2 = r.clone();
    sim.block_on(async move { r2.start(false).await.unwrap() });
    sim.settle();
    let announced: Vec<(String, bool)> = seen.borrow().clone();
    assert!(announced.contains(&("lazy".to_string(), false)), "{announced:?}");
    assert!(announced.contains(&("eager".to_string(), true)), "{announced:?}");
    assert!(lazy.is_active(), "the activation still happens at start");
    assert!(events.borrow().contains(&"activated".to_string()));
}

/// Records the UI lifecycle messages on a bus, job ids left out: `started [a, b] label true`,
/// `update a <data>`, `completed a <status> <response>`, `group`.
struct UiTap(Rc<RefCell<Vec<String>>>);

impl Subscriber<V> for UiTap {
    fn on_message(self: Rc<Self>, m: &Rc<Message<V>>) -> workbus::core::bus::Handling {
        assert!(m.target.is_none() || !m.type_name().starts_with("BusUIJob"), "UI messages are broadcast");
        let line = match &m.body {
            Body::UiJobGroupStarted { workers, label, cancellable, at, .. } => {
                assert!(*at > 0.0 && at.fract() == 0.0, "at is whole epoch ms");
                format!("started {workers:?} {label:?} {cancellable}")
            }
            Body::UiJobUpdate { worker_name, data, .. } => format!("update {worker_name} {data:?}"),
            Body::UiJobCompleted { worker_name, status, response, .. } => format!("completed {worker_name} {status} {response:?}"),
            Body::UiJobGroupCompleted { .. } => "group".to_string(),
            _ => return Ok(None),
        };
        self.0.borrow_mut().push(format!("{}: {line}", m.source));
        Ok(None)
    }
}

fn ui_tap(bus: &Bus<V>) -> Rc<RefCell<Vec<String>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    bus.observe(Rc::new(UiTap(seen.clone())));
    seen
}

fn ui_worker(name: &str) -> Worker<V> {
    let w = Worker::new(name, true);
    w.requester().set_ui(true);
    w
}

/// A worker that sends one update then answers `{ok: name}`.
fn updating(name: &'static str) -> Worker<V> {
    worker(name, Some(handler(move |r| Box::pin(async move {
        r.update(Some(V::s("half")), false).unwrap();
        Ok(Some(V::obj(&[("ok", V::s(name))])))
    }))))
}

#[test]
fn a_ui_worker_reports_each_group_from_start_to_completion() {
    let sim = Sim::new();
    let streamer = worker("streamer", Some(handler(|r| Box::pin(async move {
        r.stream(StreamPart::Start, None).unwrap();
        r.stream(StreamPart::End, Some(V::s("done"))).unwrap();
        Ok(None)
    }))));
    let (ui, plain) = (ui_worker("ui"), worker("plain", None));
    let r = started(&sim, vec![ui.clone(), plain.clone(), updating("a"), streamer]);
    let seen = ui_tap(r.bus());
    let p = JobParams { label: Some("Research".into()), ..params(None, None) };
    let g = ui.start_group(vec!["a".into(), "streamer".into()], p, false).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    sim.settle();
    assert_eq!(*seen.borrow(), vec![
        r#"ui: started Some(["a", "streamer"]) Some("Research") true"#,
        r#"ui: update a Some(Str("half"))"#,
        r#"ui: completed a completed Some(Obj([("ok", Str("a"))]))"#,
        r#"ui: completed streamer completed Some(Str("done"))"#,
        "ui: group",
    ]);
    // A plain worker says nothing to the UI.
    let g = plain.start_group(vec!["a".into()], params(None, None), false).unwrap();
    assert!(matches!(wait(&sim, &g), Outcome::Completed));
    sim.settle();
    assert_eq!(seen.borrow().len(), 5);
}

#[test]
fn a_ui_worker_closes_a_cancelled_or_failed_group_once_and_ignores_late_answers() {
    let sim = Sim::new();
    let failing = worker("failing", Some(handler(|r| Box::pin(async move {
        r.respond(Some(V::error_object("bad")), JobStatus::Failed, false).unwrap();
        Ok(None)
    }))));
    let ui = ui_worker("ui");
    let r = started(&sim, vec![ui.clone(), updating("quick"), worker("stuck", Some(never())), failing]);
    let seen = ui_tap(r.bus());
    let g = ui.start_group(vec!["quick".into(), "stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    ui.requester().cancel_group(&g.job_id().unwrap(), Some("enough".into()));
    sim.settle();
    assert_eq!(failure(wait(&sim, &g)).reason, "enough");
    assert_eq!(*seen.borrow(), vec![
        r#"ui: started Some(["quick", "stuck"]) None true"#,
        r#"ui: update quick Some(Str("half"))"#,
        r#"ui: completed quick completed Some(Obj([("ok", Str("quick"))]))"#,
        "ui: completed stuck cancelled None",
        "ui: group",
    ], "stuck's own cancelled answer, arriving after the group is gone, adds nothing");

    seen.borrow_mut().clear();
    let g = ui.start_group(vec!["failing".into(), "stuck".into()], params(None, None), false).unwrap();
    assert_eq!(failure(wait(&sim, &g)).reason, "worker 'failing' errored");
    sim.settle();
    assert_eq!(*seen.borrow(), vec![
        r#"ui: started Some(["failing", "stuck"]) None true"#,
        r#"ui: completed failing failed Some(Obj([("error", Str("bad"))]))"#,
        "ui: completed stuck cancelled None",
        "ui: group",
    ]);
}

#[test]
fn the_cancel_job_group_ui_event_cancels_cancellable_groups_of_a_ui_worker() {
    let sim = Sim::new();
    let (ui, client) = (ui_worker("ui"), worker("client", None));
    let r = started(&sim, vec![ui.clone(), client.clone(), worker("stuck", Some(never()))]);
    let event = |payload: V| Body::UiEvent { event_name: "__cancel_job_group".into(), payload: Some(payload) };
    let group = |cancellable: bool| {
        let g = ui.start_group(vec!["stuck".into()], JobParams { cancellable, ..params(None, None) }, false).unwrap();
        sim.settle();
        g
    };
    let (g1, g2, g3) = (group(true), group(false), group(true));
    // Malformed events are ignored: no payload object, an empty or a non-string job_id.
    for bad in [V::s("x"), V::obj(&[("job_id", V::s(""))]), V::obj(&[("job_id", V::Num(1.0))])] {
        client.send_bus_message(Message::new("client", None, event(bad))).unwrap();
    }
    let id = |g: &workbus::core::job::JobGroup<V>| V::s(&g.job_id().unwrap());
    client.send_bus_message(Message::new("client", None, event(V::obj(&[("job_id", id(&g1))])))).unwrap();
    client.send_bus_message(Message::new("client", Some("ui".into()), event(V::obj(&[("job_id", id(&g2))])))).unwrap();
    client.send_bus_message(Message::new("client", Some("ui".into()), event(V::obj(&[("job_id", id(&g3)), ("reason", V::s("closed the card"))])))).unwrap();
    sim.settle();
    assert_eq!(failure(g1.outcome().unwrap()).reason, "cancelled by user");
    assert!(g2.outcome().is_none(), "a group sent as not cancellable stays");
    assert_eq!(failure(g3.outcome().unwrap()).reason, "closed the card");
    // A plain worker leaves the event alone.
    let plain = worker("plain", None);
    let r2 = r.clone();
    let p2 = plain.clone();
    sim.block_on(async move { r2.add_workers(vec![p2]).await.unwrap() });
    let g4 = plain.start_group(vec!["stuck".into()], params(None, None), false).unwrap();
    sim.settle();
    client.send_bus_message(Message::new("client", None, event(V::obj(&[("job_id", id(&g4))])))).unwrap();
    sim.settle();
    assert!(g4.outcome().is_none());
}

#[test]
fn groups_small_and_large_find_each_answer_and_refuse_repeated_names() {
    // Small groups search their names in lists, large ones hash them: both sides of the switch.
    for size in [1, 3, 8, 9, 12, 40] {
        let sim = Sim::new();
        let names: Vec<String> = (0..size).map(|i| format!("w{i}")).collect();
        let own_name = || handler(|r| Box::pin(async move { Ok(Some(V::s(&format!("from {}", r.worker().unwrap().name())))) }));
        let r = started(&sim, names.iter().map(|n| worker(n, Some(own_name()))).collect());
        let g = r.start_group(names.iter().map(SharedStr::from).collect(), params(None, None), false).unwrap();
        assert!(matches!(wait(&sim, &g), Outcome::Completed), "a group of {size}");
        assert_eq!(g.responses().len(), size);
        for n in &names {
            assert_eq!(g.response_of(n), Some(V::s(&format!("from {n}"))), "{n} in a group of {size}");
        }
        assert_eq!(g.response_of("w-none"), None);
        let mut repeated = names.clone();
        repeated.push(names[size / 2].clone());
        let err = r.start_group(repeated.iter().map(SharedStr::from).collect(), params(None, None), false).err().expect("a repeated name is refused");
        assert_eq!(err, ApiError::Type(format!("workerNames has '{}' more than once", names[size / 2])));
    }
}

// ----- pools: one name on several runners ------------------------------------------------------

/// Who ran what: (runner, attempt, payload) for every handler run, across all instances.
type Runs = Rc<RefCell<Vec<(String, u32, V)>>>;

/// A pool worker on `runner`: records its run, waits `ms` of virtual time (forever when `None`),
/// then answers `{ran: runner}`.
fn pooled(sim: &Sim, runner: &str, ms: Option<f64>, runs: &Runs) -> Worker<V> {
    let (env, runner, runs) = (sim.env(), runner.to_string(), runs.clone());
    worker(
        "cpu",
        Some(handler(move |r| {
            runs.borrow_mut().push((runner.clone(), r.attempt, r.payload.clone().unwrap_or(V::Null)));
            let sleep = ms.map(|ms| env.sleep(ms, true));
            let ran = V::obj(&[("ran", V::s(&runner))]);
            Box::pin(async move {
                match sleep {
                    Some(sleep) => sleep.await,
                    None => futures::future::pending().await,
                }
                Ok(Some(ran))
            })
        })),
    )
}

/// A page runner (with worker "asker") linked to one realm per entry of `instances`, each realm
/// runner "r<i>" hosting a "cpu" that answers after the given delay. Returns the page, the asker,
/// the realms and the pipes of each link (cut them to make a realm go silent).
fn pool(sim: &Sim, delays: &[Option<f64>], runs: &Runs) -> (Runner<V>, Worker<V>, Vec<(Runner<V>, Rc<Pipe>, Rc<Pipe>)>) {
    let page_bus = Bus::new(sim.env());
    let page = Runner::new(sim.env(), "page".into(), page_bus.clone()).unwrap();
    page.set_liveness(FAST);
    let asker = worker("asker", None);
    let mut order = vec![(page.clone(), vec![asker.clone()])];
    let mut realms = Vec::new();
    for (i, delay) in delays.iter().enumerate() {
        let bus = Bus::new(sim.env());
        let (ab, ba) = link(sim, &page_bus, &bus);
        let name = format!("r{}", i + 1);
        let realm = Runner::new(sim.env(), name.clone(), bus).unwrap();
        realm.set_liveness(FAST);
        order.push((realm.clone(), vec![pooled(sim, &name, *delay, runs)]));
        realms.push((realm, ab, ba));
    }
    start_in_order(sim, order);
    assert_eq!(page.registry().instances("cpu").len(), delays.len(), "every instance is known");
    (page, asker, realms)
}

fn ran_on(g: &workbus::core::job::JobGroup<V>) -> String {
    match g.response_of("cpu").and_then(|r| r.get("ran").cloned()) {
        Some(V::Str(s)) => s,
        other => panic!("no response naming its instance: {other:?}"),
    }
}

fn job_to_cpu(asker: &Worker<V>, tag: f64, retries: u32, timeout: Option<f64>) -> workbus::core::job::JobGroup<V> {
    let p = JobParams { payload: Some(V::Num(tag)), timeout, retries, ..JobParams::default() };
    asker.start_group(vec!["cpu".into()], p, false).unwrap()
}

#[test]
fn a_job_to_a_pooled_name_runs_on_exactly_one_instance_the_least_loaded_ties_in_turn() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    let (page, asker, _realms) = pool(&sim, &[Some(10.0), Some(10.0), Some(10.0)], &runs);
    let jobs: Vec<_> = (0..6).map(|i| job_to_cpu(&asker, i as f64, 0, None)).collect();
    sim.settle();
    let pending: Vec<u32> = ["r1", "r2", "r3"].iter().map(|r| page.registry().pending("cpu", r)).collect();
    assert_eq!(pending, vec![2, 2, 2], "six jobs in flight, two on each instance");
    for g in &jobs {
        wait(&sim, g);
    }
    let ran: Vec<String> = jobs.iter().map(ran_on).collect();
    assert_eq!(ran, ["r1", "r2", "r3", "r1", "r2", "r3"], "ties go in turn");
    assert_eq!(runs.borrow().len(), 6, "each job ran once, on one instance");
    let pending: Vec<u32> = ["r1", "r2", "r3"].iter().map(|r| page.registry().pending("cpu", r)).collect();
    assert_eq!(pending, vec![0, 0, 0], "answered jobs leave the load");
}

#[test]
fn the_least_loaded_instance_wins_over_the_turn() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    // r1 never answers: the first job stays pending there
    let (page, asker, _realms) = pool(&sim, &[None, Some(5.0)], &runs);
    let _stuck = job_to_cpu(&asker, 0.0, 0, None);
    sim.settle();
    for i in 1..5 {
        let g = job_to_cpu(&asker, i as f64, 0, None);
        wait(&sim, &g);
        assert_eq!(ran_on(&g), "r2", "never the busy instance while another has none pending");
    }
    assert_eq!((page.registry().pending("cpu", "r1"), page.registry().pending("cpu", "r2")), (1, 0));
}

#[test]
fn a_group_member_with_a_pooled_name_runs_once() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    let (_page, asker, _realms) = pool(&sim, &[Some(5.0), Some(5.0)], &runs);
    for _ in 0..4 {
        let g = asker.start_group(vec!["cpu".into()], JobParams { cancel_on_error: false, ..JobParams::default() }, false).unwrap();
        wait(&sim, &g);
    }
    assert_eq!(runs.borrow().len(), 4);
    let on_r1 = runs.borrow().iter().filter(|(r, _, _)| r == "r1").count();
    assert_eq!(on_r1, 2, "spread over both instances");
}

#[test]
fn a_job_whose_instance_goes_silent_runs_again_on_another_with_retries_and_fails_without() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    let (page, asker, realms) = pool(&sim, &[None, Some(50.0)], &runs);
    // r1 never answers. In turn and by load: the job with retries to r1, one without to r2,
    // and another without to r1 (a tie, r1's turn).
    let retried = job_to_cpu(&asker, 1.0, 1, Some(2000.0));
    let other = job_to_cpu(&asker, 2.0, 0, None);
    let plain = job_to_cpu(&asker, 3.0, 0, None);
    sim.settle();
    let placed = |tag: f64| runs.borrow().iter().filter(|(_, _, p)| *p == V::Num(tag)).map(|(r, a, _)| (r.clone(), *a)).collect::<Vec<_>>();
    assert_eq!([placed(1.0), placed(2.0), placed(3.0)], [[("r1".to_string(), 1)], [("r2".to_string(), 1)], [("r1".to_string(), 1)]]);
    wait(&sim, &other);
    let (_, ab, ba) = &realms[0];
    ab.open.set(false);
    ba.open.set(false);
    let started = sim.now();
    let done = wait(&sim, &retried);
    assert!(matches!(done, Outcome::Completed), "sent again to r2 within its deadline");
    assert_eq!(ran_on(&retried), "r2");
    assert_eq!(placed(1.0), [("r1".to_string(), 1), ("r2".to_string(), 2)], "run again on r2, as its second attempt");
    assert!(sim.now() - started < 2000.0);
    // without retries: "stopped", although r2 still hosts the name
    let f = failure(wait(&sim, &plain));
    assert_eq!(f.reason, "worker 'cpu' stopped");
    assert_eq!(page.registry().instances("cpu").len(), 1);
    assert_eq!(page.registry().pending("cpu", "r1"), 0, "the gone instance's load is released");
}

#[test]
fn a_job_whose_instance_stops_runs_again_elsewhere_and_its_late_answer_is_ignored() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    // r1 answers after 1000 ms, r2 after 2000 ms
    let (_page, asker, realms) = pool(&sim, &[Some(1000.0), Some(2000.0)], &runs);
    let g = job_to_cpu(&asker, 1.0, 2, None);
    sim.settle();
    let (_, ab, ba) = &realms[0];
    ab.open.set(false);
    ba.open.set(false);
    sim.advance(400.0); // r1 is silent: the job goes to r2
    ab.open.set(true);
    ba.open.set(true);
    // r1 comes back and answers at 1000 ms: that answer is for a try that was given up
    wait(&sim, &g);
    assert_eq!(ran_on(&g), "r2", "the answer of the instance the job is on now");
    assert!(sim.now() >= 2000.0);
    assert_eq!(runs.borrow().iter().map(|(r, a, _)| (r.as_str(), *a)).collect::<Vec<_>>(), [("r1", 1), ("r2", 2)]);
}

#[test]
fn an_error_answer_from_a_pooled_instance_is_never_retried() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    let (_page, asker, realms) = pool(&sim, &[Some(5.0), Some(5.0)], &runs);
    let thrower = worker("boom", Some(handler(|_| Box::pin(async { Err("broken".to_string()) }))));
    let (r1, r2) = (realms[0].0.clone(), realms[1].0.clone());
    sim.block_on(async move {
        r1.add_workers(vec![thrower]).await.unwrap();
        r2.add_workers(vec![worker("boom", Some(handler(|_| Box::pin(async { Err("broken too".to_string()) }))))]).await.unwrap();
    });
    sim.settle();
    let g = asker.start_group(vec!["boom".into()], JobParams { retries: 3, ..JobParams::default() }, false).unwrap();
    let f = failure(wait(&sim, &g));
    assert_eq!(f.status, Some(JobStatus::Error));
    assert_eq!(f.reason, "worker 'boom' errored");
    assert_eq!(sim.logged("is sent again"), 0, "an answer is never retried");
}

#[test]
fn a_request_carries_its_instance_and_the_wire_keeps_it() {
    let m: Message<V> = Message::new("asker", Some("cpu".into()), Body::JobRequest { job_id: "j".into(), job_name: None, payload: None, attempt: Some(2) })
        .routed(Some("page".into()), Some("r2".into()));
    let json = workbus::wire::encode(&m).unwrap();
    let back: Message<V> = workbus::wire::decode(&json).unwrap().unwrap();
    assert_eq!((back.source_runner.as_deref(), back.target_runner.as_deref()), (Some("page"), Some("r2")));
    assert!(matches!(back.body, Body::JobRequest { attempt: Some(2), .. }));
    // Pipecat's own messages have no routing fields on the wire
    let plain: Message<V> = Message::new("asker", Some("cpu".into()), Body::JobRequest { job_id: "j".into(), job_name: None, payload: None, attempt: None });
    let text = workbus::wire::to_text(&workbus::wire::encode(&plain).unwrap(), &|n| n.to_string());
    assert!(!text.contains("runner") && !text.contains("attempt"), "{text}");
}

#[test]
fn a_pooled_requester_loses_only_its_own_jobs_when_its_runner_goes() {
    let sim = Sim::new();
    let runs: Runs = Rc::default();
    // "cpu" on r1 and r2 is also a requester: both ask the page's "svc", which never answers and
    // records the runner of each job it is made to drop
    let dropped: Rc<RefCell<Vec<String>>> = Rc::default();
    let d = dropped.clone();
    let svc = handler(move |r| {
        let (d, from) = (d.clone(), r.source_runner.clone().unwrap_or_default());
        r.abort.on_abort(move |_| d.borrow_mut().push(from.to_string()));
        Box::pin(futures::future::pending())
    });
    let (page, _asker, realms) = pool(&sim, &[Some(5.0), Some(5.0)], &runs);
    let page2 = page.clone();
    sim.block_on(async move { page2.add_workers(vec![worker("svc", Some(svc))]).await.unwrap() });
    sim.settle();
    let cpu_on = |i: usize| realms[i].0.workers().into_iter().find(|w| w.name() == "cpu").unwrap();
    let g1 = cpu_on(0).start_group(vec!["svc".into()], params(None, None), false).unwrap();
    let _g2 = cpu_on(1).start_group(vec!["svc".into()], params(None, None), false).unwrap();
    sim.settle();
    // r2 goes silent: only the job from its instance of "cpu" is dropped on the page
    let (_, ab, ba) = &realms[1];
    ab.open.set(false);
    ba.open.set(false);
    sim.advance(400.0);
    assert_eq!(*dropped.borrow(), ["r2"]);
    assert!(!g1.is_done(), "r1's job goes on");
}

#[test]
fn a_snapshot_queued_before_its_runner_was_declared_gone_does_not_bring_its_workers_back() {
    let sim = Sim::new();
    let (bus_a, bus_b) = (Bus::new(sim.env()), Bus::new(sim.env()));
    let page = Runner::new(sim.env(), "page".into(), bus_a.clone()).unwrap();
    start_in_order(&sim, vec![(page.clone(), vec![worker("asker", None)])]);
    let (_ab, ba) = link(&sim, &bus_a, &bus_b);
    let from_realm = ba.to.borrow().as_ref().unwrap().1;
    // The realm's snapshot arrived and waits in the page runner's queue when its thread dies:
    // the host removes the link and says the runner is gone.
    bus_a.receive(Rc::new(snapshot_of("r9", "cpu")), Some(from_realm));
    bus_a.remove_link(from_realm);
    page.remote_runner_gone("r9");
    sim.settle();
    assert!(!page.registry().has("cpu"), "no ghost instance of a dead realm");
    assert_eq!(sim.logged("ignored a snapshot of runner 'r9'"), 1, "the queued snapshot was seen and ignored");
    // a runner of that name that comes back through a live link is registered again
    let (_ab2, ba2) = link(&sim, &bus_a, &Bus::new(sim.env()));
    let again = ba2.to.borrow().as_ref().unwrap().1;
    bus_a.receive(Rc::new(snapshot_of("r9", "cpu")), Some(again));
    sim.settle();
    assert_eq!(page.registry().instances("cpu"), vec![ReadyData { worker_name: "cpu".into(), runner: "r9".into() }]);
}
