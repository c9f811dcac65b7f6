//! [`SharedStr`]: an immutable string shared rather than copied.
//!
//! A job's id and its workers' names go into every message about the job (its request, each
//! update and stream chunk, its answer) and into the tables of both sides; copying them cost a
//! heap allocation, a copy and a free each time. Shared, a copy is a count.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedStr(Rc<str>);

impl SharedStr {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The same string, not merely an equal one (a cache's quick check).
    pub fn same_as(&self, other: &SharedStr) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::from("")
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        SharedStr(Rc::from(s))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        SharedStr(Rc::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        SharedStr(Rc::from(s.as_str()))
    }
}

impl From<&SharedStr> for SharedStr {
    fn from(s: &SharedStr) -> Self {
        s.clone()
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == &*other.0
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// How many distinct strings [`SharedStr::interned`] keeps; later ones are made afresh.
const INTERNED_LIMIT: usize = 1024;

thread_local! {
    static INTERNED: std::cell::RefCell<super::hash::HashSet<SharedStr>> = std::cell::RefCell::new(Default::default());
}

impl SharedStr {
    /// `s`, shared with every earlier call for the same text: for the few names that come in
    /// again and again (worker names from the host, from a link), which then cost a lookup
    /// instead of an allocation.
    pub fn interned(s: &str) -> SharedStr {
        INTERNED.with(|table| {
            if let Some(known) = table.borrow().get(s) {
                return known.clone();
            }
            let made = SharedStr::from(s);
            let mut table = table.borrow_mut();
            if table.len() < INTERNED_LIMIT {
                table.insert(made.clone());
            }
            made
        })
    }
}
