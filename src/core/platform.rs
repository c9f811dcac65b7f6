//! What the engine needs from its host: time, timers, a task spawner, randomness and a logger.

use futures::future::LocalBoxFuture;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Warn,
    Error,
}

pub trait Platform {
    /// Milliseconds since the Unix epoch (`Date.now()`).
    fn now(&self) -> f64;
    /// A future that completes after `ms`; dropping it cancels the timer. A timer that does not
    /// `keep_alive` must not keep a Node process running on its own.
    fn sleep(&self, ms: f64, keep_alive: bool) -> LocalBoxFuture<'static, ()>;
    /// Runs a task to completion in the background.
    fn spawn(&self, task: LocalBoxFuture<'static, ()>);
    /// Fills `buf` with random bytes (ids only; not for secrets).
    fn random_bytes(&self, buf: &mut [u8]);
    fn log(&self, level: LogLevel, message: &str);
}

pub type Env = Rc<dyn Platform>;

/// Job ids in the form of version-4 UUIDs, as Pipecat's, without random bytes for each: a
/// random base drawn once, plus a counter. Ids of one source never repeat; two sources' bases
/// differ in 122 random bits, as two random UUIDs do.
#[derive(Default)]
pub struct IdSource(std::cell::Cell<Option<(u128, u64)>>);

impl IdSource {
    pub fn next(&self, env: &dyn Platform) -> super::shared_str::SharedStr {
        let (base, count) = self.0.get().unwrap_or_else(|| {
            let mut b = [0u8; 16];
            env.random_bytes(&mut b);
            (u128::from_be_bytes(b), 0)
        });
        let count = count + 1;
        self.0.set(Some((base, count)));
        // Added to the low 64 bits (bytes 8..16), of which only the variant's 2 bits are fixed.
        uuid_form(base.wrapping_add(u128::from(count)).to_be_bytes()).as_str().into()
    }
}

/// `b` as a version-4 UUID (as Pipecat's `str(uuid4())`): the version and variant bits set, in
/// the 36-character form.
fn uuid_form(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // Written as bytes: one per job, and `String::push` checks every char.
    let mut id = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        id[at] = HEX_DIGITS[(byte >> 4) as usize];
        id[at + 1] = HEX_DIGITS[(byte & 15) as usize];
        at += 2;
    }
    std::str::from_utf8(&id).expect("hex digits and dashes are ASCII").to_owned()
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, byte: u8) {
    out.push(HEX_DIGITS[(byte >> 4) as usize] as char);
    out.push(HEX_DIGITS[(byte & 15) as usize] as char);
}

/// `runner-` and 8 random hex characters, as Pipecat names runners.
pub fn new_runner_name(env: &dyn Platform) -> String {
    let mut b = [0u8; 4];
    env.random_bytes(&mut b);
    let mut name = String::from("runner-");
    b.iter().for_each(|x| push_hex(&mut name, *x));
    name
}

/// The log line for a panic of the engine: what and where, for a bug report.
pub fn describe_panic(info: &std::panic::PanicHookInfo<'_>) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    match info.location() {
        Some(at) => format!("workbus panicked at {}:{}:{}: {what} (a bug in workbus; please report it)", at.file(), at.line(), at.column()),
        None => format!("workbus panicked: {what} (a bug in workbus; please report it)"),
    }
}

#[cfg(test)]
mod tests {
    use super::{describe_panic, LogLevel, Platform};
    use futures::future::LocalBoxFuture;

    /// Random bytes 0, 1, 2, ...
    struct Counting;
    impl Platform for Counting {
        fn now(&self) -> f64 {
            0.0
        }
        fn sleep(&self, _: f64, _: bool) -> LocalBoxFuture<'static, ()> {
            Box::pin(futures::future::pending())
        }
        fn spawn(&self, _: LocalBoxFuture<'static, ()>) {}
        fn random_bytes(&self, buf: &mut [u8]) {
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8 * 17);
        }
        fn log(&self, _: LogLevel, _: &str) {}
    }

    #[test]
    fn a_uuid_is_version_4_in_the_36_character_form() {
        let mut b = [0u8; 16];
        Counting.random_bytes(&mut b);
        assert_eq!(super::uuid_form(b), "00112233-4455-4677-8899-aabbccddeeff");
    }

    #[test]
    fn job_ids_count_up_from_one_random_base_in_uuid_form() {
        let ids = super::IdSource::default();
        assert_eq!(ids.next(&Counting), "00112233-4455-4677-8899-aabbccddef00");
        assert_eq!(ids.next(&Counting), "00112233-4455-4677-8899-aabbccddef01");
        let many: std::collections::HashSet<crate::core::shared_str::SharedStr> = (0..1000).map(|_| ids.next(&Counting)).collect();
        assert_eq!(many.len(), 1000);
    }
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_panic_is_described_with_its_message_and_where_it_happened() {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (record, here) = (seen.clone(), std::thread::current().id());
        let previous = std::panic::take_hook();
        // Hooks are process-wide: record only this test's thread.
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == here {
                record.lock().unwrap().push(describe_panic(info));
            }
        }));
        let line = line!() + 1;
        let formatted = std::panic::catch_unwind(|| panic!("bad value {}", 42));
        let literal = std::panic::catch_unwind(|| std::panic::panic_any(7_u8));
        std::panic::set_hook(previous);
        assert!(formatted.is_err() && literal.is_err());
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], format!("workbus panicked at src/core/platform.rs:{line}:53: bad value 42 (a bug in workbus; please report it)"));
        assert!(seen[1].ends_with(": (no message) (a bug in workbus; please report it)"), "{}", seen[1]);
    }
}
