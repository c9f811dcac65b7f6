//! What the JavaScript façade (`js/`) and the wasm layer (`src/js`) agree on across the wasm
//! boundary, defined once: the numbers that stand for a group's state, a stream part and an
//! event's kind, event names in the order of their mask bits, and the defaults the façade fills
//! in. `src/js` maps to and from these; `js/boundary.js` is generated from [`boundary_text`]
//! (`WORKBUS_UPDATE_BOUNDARY=1 cargo test --test boundary` rewrites it; that test checks it).

use crate::core::job::JobEventKind;
use crate::core::message::JobStatus;
use crate::core::runner::{Liveness, DEFAULT_GRACE_MS};
use crate::core::worker::{StreamPart, EVENT_NAMES};
use crate::wire::{to_text, Json};

/// A job group's state, as `CoreGroup.state` gives it.
pub const GROUP_WAITING: u8 = 0;
pub const GROUP_SENT: u8 = 1;
pub const GROUP_COMPLETED: u8 = 2;
pub const GROUP_FAILED: u8 = 3;

/// Stream parts as `sendJobStream` takes them: the index is the number.
pub const STREAM_PARTS: [(&str, StreamPart); 3] = [("start", StreamPart::Start), ("data", StreamPart::Data), ("end", StreamPart::End)];

/// The part numbered `n` (an unknown number is the end, which closes the stream).
pub fn stream_part(n: u8) -> StreamPart {
    STREAM_PARTS.get(n as usize).map_or(StreamPart::End, |(_, p)| *p)
}

/// A runner's event sink gets `(kind, arg)`; the index is the kind.
pub const RUNNER_EVENTS: [&str; 2] = ["ready", "error"];
pub const RUNNER_READY: u8 = 0;
pub const RUNNER_ERROR: u8 = 1;

/// A registry's event sink gets `(kind, data)`; the index is the kind.
pub const REGISTRY_EVENTS: [&str; 2] = ["ready", "gone"];
pub const REGISTRY_READY: u8 = 0;
pub const REGISTRY_GONE: u8 = 1;

/// The message a realm's runner announces its workers with (spawnWorker waits for it).
pub const REGISTRY_MESSAGE: &str = "BusWorkerRegistryMessage";

/// Everything above, as the JSON tree `js/boundary.js` holds.
pub fn boundary() -> Json {
    let strings = |names: &[&str]| Json::Arr(names.iter().map(|n| Json::str(n)).collect());
    let numbered = |names: &[&str]| Json::Obj(names.iter().enumerate().map(|(i, n)| (n.to_string(), Json::Num(i as f64))).collect());
    let liveness = Liveness::default();
    let group_states = [(GROUP_WAITING, "waiting"), (GROUP_SENT, "sent"), (GROUP_COMPLETED, "completed"), (GROUP_FAILED, "failed")];
    Json::Obj(vec![
        ("jobStatuses".into(), Json::Arr(JobStatus::ALL.iter().map(|s| Json::str(s.as_str())).collect())),
        ("jobEvents".into(), Json::Arr(JobEventKind::ALL.iter().map(|k| Json::str(k.as_str())).collect())),
        ("groupStates".into(), Json::Obj(group_states.iter().map(|(n, s)| (s.to_string(), Json::Num(*n as f64))).collect())),
        ("streamParts".into(), numbered(&STREAM_PARTS.map(|(n, _)| n))),
        ("workerEvents".into(), strings(&EVENT_NAMES)),
        ("runnerEvents".into(), strings(&RUNNER_EVENTS)),
        ("registryEvents".into(), strings(&REGISTRY_EVENTS)),
        ("registryMessage".into(), Json::str(REGISTRY_MESSAGE)),
        ("defaultGracePeriodMs".into(), Json::Num(DEFAULT_GRACE_MS)),
        ("defaultHeartbeatIntervalMs".into(), Json::Num(liveness.interval)),
        ("defaultHeartbeatMisses".into(), Json::Num(liveness.misses as f64)),
    ])
}

/// [`boundary`] as JSON text.
pub fn boundary_text() -> String {
    // Every number in it is a whole one (codes and milliseconds).
    to_text(&boundary(), &|n| (n as i64).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_parts_are_numbered_in_order_and_unknown_numbers_end() {
        assert_eq!(stream_part(0), StreamPart::Start);
        assert_eq!(stream_part(1), StreamPart::Data);
        assert_eq!(stream_part(2), StreamPart::End);
        assert_eq!(stream_part(9), StreamPart::End);
    }

    #[test]
    fn event_kinds_index_their_names() {
        assert_eq!(RUNNER_EVENTS[RUNNER_READY as usize], "ready");
        assert_eq!(RUNNER_EVENTS[RUNNER_ERROR as usize], "error");
        assert_eq!(REGISTRY_EVENTS[REGISTRY_READY as usize], "ready");
        assert_eq!(REGISTRY_EVENTS[REGISTRY_GONE as usize], "gone");
    }

    #[test]
    fn a_job_event_kind_is_numbered_by_its_place_in_job_events() {
        // The wasm layer hands the façade `kind as u8`; the façade reads `jobEvents[kind]`.
        for (i, kind) in JobEventKind::ALL.iter().enumerate() {
            assert_eq!(*kind as u8 as usize, i, "{}", kind.as_str());
        }
    }
}
