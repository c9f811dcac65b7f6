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

/// A random version-4 UUID in its 36-character form, as Pipecat's `str(uuid4())`.
pub fn new_uuid(env: &dyn Platform) -> String {
    let mut b = [0u8; 16];
    env.random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `runner-` and 8 random hex characters, as Pipecat names runners.
pub fn new_runner_name(env: &dyn Platform) -> String {
    let mut b = [0u8; 4];
    env.random_bytes(&mut b);
    format!("runner-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}
