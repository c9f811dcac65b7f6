//! A job group: its workers, answers, events and the one way it settles.

use super::{JobEvent, JobEventKind, JobFailure, NextEvent, Outcome};
use crate::core::hash::{HashMap, HashSet};
use crate::core::message::{JobStatus, Message, SharedStr};
use crate::core::registry::Claim;
use crate::core::sync::Flag;
use crate::core::{present, Value};
use futures::future::AbortHandle;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// A job group as its requester holds it.
pub struct JobGroup<V: Value>(pub(super) Rc<GroupInner<V>>);

/// A listener of a group's changes; it gets the group (so that it need not hold it).
pub type OnChange<V> = Rc<dyn Fn(&JobGroup<V>)>;

impl<V: Value> Clone for JobGroup<V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

pub(super) struct GroupInner<V: Value> {
    pub(super) worker_names: Vec<SharedStr>,
    /// The names again, for groups too large to search (see [`SMALL`]).
    pub(super) members: Option<HashSet<SharedStr>>,
    pub(super) label: Option<String>,
    pub(super) cancellable: bool,
    pub(super) cancel_on_error: bool,
    /// How many times a member whose instance is gone may be sent again.
    pub(super) retries: u32,
    pub(super) state: RefCell<GroupState<V>>,
    pub(super) settled: Flag,
}

pub(super) struct GroupState<V: Value> {
    pub(super) job_id: Option<SharedStr>,
    /// The request to send once the workers are ready.
    pub(super) request: Option<(Option<String>, Option<V>)>,
    pub(super) responses: Vec<(SharedStr, V)>,
    /// Where each worker's response is in `responses`, once there are more than [`SMALL`].
    pub(super) answered: HashMap<SharedStr, usize>,
    /// How many members of the group have answered (a group of 1000 checks this in O(1)).
    pub(super) members_answered: usize,
    pub(super) terminated: NameSet,
    pub(super) last_status: Option<JobStatus>,
    /// Buffered events; only groups made for a context keep them.
    pub(super) events: Option<VecDeque<JobEvent<V>>>,
    pub(super) outcome: Option<Outcome<V>>,
    pub(super) deadline: Option<AbortHandle>,
    pub(super) on_change: Vec<(u64, OnChange<V>)>,
    pub(super) next_listener: u64,
    /// The members sent to a chosen instance (a pool, or another runner); empty for jobs to
    /// this runner's own workers.
    pub(super) placed: Vec<Placed>,
    /// The request again, for retries (kept only when the group has any).
    pub(super) retry_request: Option<(Option<String>, Option<V>)>,
}

/// Where one member was sent, and which try that was.
pub(super) struct Placed {
    pub(super) worker: SharedStr,
    pub(super) runner: SharedStr,
    pub(super) attempt: u32,
    /// Counts in the instance's load until the member answers or the group ends.
    pub(super) claim: Option<Claim>,
}

/// Up to this many names are searched in a list rather than hashed: most jobs have one
/// worker, and a table per job (with a copy of each name) cost more than the search.
pub(super) const SMALL: usize = 8;

/// A set of names: a list while small, a table beyond [`SMALL`].
#[derive(Default)]
pub(super) struct NameSet {
    pub(super) list: Vec<SharedStr>,
    table: HashSet<SharedStr>,
}

impl NameSet {
    pub(super) fn contains(&self, name: &str) -> bool {
        if self.list.len() <= SMALL {
            self.list.iter().any(|n| n == name)
        } else {
            self.table.contains(name)
        }
    }
    pub(super) fn insert(&mut self, name: &SharedStr) {
        if self.contains(name) {
            return;
        }
        self.list.push(name.clone());
        match self.list.len() {
            n if n == SMALL + 1 => self.table = self.list.iter().cloned().collect(),
            n if n > SMALL + 1 => {
                self.table.insert(name.clone());
            }
            _ => {}
        }
    }
}

impl<V: Value> GroupState<V> {
    pub(super) fn placed(&self, worker: &str) -> Option<&Placed> {
        self.placed.iter().find(|p| p.worker == worker)
    }

    /// A member answered for good: it no longer counts in its instance's load.
    pub(super) fn release(&mut self, worker: &str) -> Option<Claim> {
        self.placed.iter_mut().find(|p| p.worker == worker).and_then(|p| p.claim.take())
    }

    fn answer_index(&self, worker: &str) -> Option<usize> {
        if self.responses.len() <= SMALL {
            self.responses.iter().position(|(n, _)| n == worker)
        } else {
            self.answered.get(worker).copied()
        }
    }
}

impl<V: Value> GroupInner<V> {
    fn is_member(&self, name: &str) -> bool {
        match &self.members {
            Some(table) => table.contains(name),
            None => self.worker_names.iter().any(|n| n == name),
        }
    }
}

impl<V: Value> JobGroup<V> {
    pub fn job_id(&self) -> Option<SharedStr> {
        self.0.state.borrow().job_id.clone()
    }
    pub fn worker_names(&self) -> &[SharedStr] {
        &self.0.worker_names
    }
    pub fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    pub fn cancellable(&self) -> bool {
        self.0.cancellable
    }
    pub fn cancel_on_error(&self) -> bool {
        self.0.cancel_on_error
    }
    pub fn responses(&self) -> Vec<(SharedStr, V)> {
        self.0.state.borrow().responses.clone()
    }
    /// `f` over the responses in place, without copying them. `f` must not touch the group.
    pub fn with_responses<R>(&self, f: impl FnOnce(&[(SharedStr, V)]) -> R) -> R {
        f(&self.0.state.borrow().responses)
    }
    pub fn response_of(&self, worker: &str) -> Option<V> {
        let s = self.0.state.borrow();
        s.answer_index(worker).map(|i| s.responses[i].1.clone())
    }
    /// The status of the latest answer a worker gave.
    pub fn last_status(&self) -> Option<JobStatus> {
        self.0.state.borrow().last_status
    }
    pub fn outcome(&self) -> Option<Outcome<V>> {
        self.0.state.borrow().outcome.clone()
    }
    pub fn is_done(&self) -> bool {
        self.0.settled.is_set()
    }
    pub fn is_sent(&self) -> bool {
        self.0.state.borrow().job_id.is_some()
    }
    /// Resolves once the group has settled.
    pub async fn wait(&self) -> Outcome<V> {
        self.0.settled.wait().await;
        self.outcome().expect("a settled group has an outcome")
    }
    /// `f` is called (with no borrow held, given the group) whenever the group is sent, gets an
    /// event or settles, until removed with the returned id.
    pub fn add_on_change(&self, f: OnChange<V>) -> u64 {
        let mut s = self.0.state.borrow_mut();
        s.next_listener += 1;
        let id = s.next_listener;
        s.on_change.push((id, f));
        id
    }
    pub fn remove_on_change(&self, id: u64) {
        self.0.state.borrow_mut().on_change.retain(|(i, _)| *i != id);
    }
    pub fn next_event(&self) -> NextEvent<V> {
        let mut s = self.0.state.borrow_mut();
        if let Some(ev) = s.events.as_mut().and_then(VecDeque::pop_front) {
            return NextEvent::Event(ev);
        }
        match &s.outcome {
            Some(Outcome::Completed) => NextEvent::Completed,
            Some(Outcome::Failed(f)) => NextEvent::Failed(f.clone()),
            None => NextEvent::Pending,
        }
    }
    pub(super) fn notify(&self) {
        // The listeners as they are now, called with no borrow held (they may add or remove
        // listeners); a context is usually the only one, and needs no list.
        let (only, all): (Option<OnChange<V>>, Vec<OnChange<V>>) = {
            let s = self.0.state.borrow();
            match s.on_change.as_slice() {
                [] => return,
                [(_, f)] => (Some(f.clone()), Vec::new()),
                many => (None, many.iter().map(|(_, f)| f.clone()).collect()),
            }
        };
        only.into_iter().chain(all).for_each(|f| f(self));
    }
    /// `message`: the update or stream message the event is (its source, its data).
    pub(super) fn push_event(&self, kind: JobEventKind, message: &Rc<Message<V>>) {
        let pushed = {
            let mut s = self.0.state.borrow_mut();
            let open = s.outcome.is_none();
            match s.events.as_mut() {
                Some(q) if open => {
                    q.push_back(JobEvent::new(kind, message.clone()));
                    true
                }
                _ => false,
            }
        };
        if pushed {
            self.notify();
        }
    }
    pub(super) fn record(&self, worker: &SharedStr, response: Option<V>) {
        let value = present(response).unwrap_or_else(V::empty_object);
        let mut s = self.0.state.borrow_mut();
        match s.answer_index(worker) {
            Some(i) => s.responses[i].1 = value,
            None => {
                let i = s.responses.len();
                s.responses.push((worker.clone(), value));
                if i == SMALL {
                    let index = s.responses.iter().enumerate().map(|(i, (w, _))| (w.clone(), i)).collect();
                    s.answered = index;
                } else if i > SMALL {
                    s.answered.insert(worker.clone(), i);
                }
                if self.0.is_member(worker) {
                    s.members_answered += 1;
                }
            }
        }
    }
    pub(super) fn all_answered(&self) -> bool {
        self.0.state.borrow().members_answered == self.0.worker_names.len()
    }
    /// Settles once; later calls do nothing. Returns whether this call settled it.
    pub(super) fn settle(&self, outcome: Outcome<V>) -> bool {
        let (deadline, claims) = {
            let mut s = self.0.state.borrow_mut();
            if s.outcome.is_some() {
                return false;
            }
            s.outcome = Some(outcome);
            s.request = None;
            s.retry_request = None;
            // The instances' loads drop with the claims, outside this borrow.
            let claims: Vec<Option<Claim>> = s.placed.iter_mut().map(|p| p.claim.take()).collect();
            (s.deadline.take(), claims)
        };
        drop(claims);
        if let Some(d) = deadline {
            d.abort();
        }
        self.0.settled.set();
        self.notify();
        true
    }
    pub(super) fn fail(&self, mut failure: JobFailure<V>) -> bool {
        failure.responses = self.responses();
        self.settle(Outcome::Failed(Rc::new(failure)))
    }
}
