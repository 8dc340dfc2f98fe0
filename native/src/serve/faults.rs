//! The driver's faults, for an embedded broker's tests (`spate::Broker`):
//! what only the layer that owns sockets and time can do. The core's own
//! faults (error answers, failed appends, observing requests) are
//! `spate_core::broker`'s; they reach the owner loop as [`Control`]s.
//!
//! - A delay holds the next requests of an API for a while before the
//!   broker sees them: each response leaves that much later, and the
//!   connection's later requests wait behind it, as behind a slow broker.
//! - A drop closes the connection on which the next request of an API
//!   arrives, before the broker sees it, as a broker that crashed or a
//!   network that failed between request and response.
//!
//! Both are checked by a connection's reader task as each frame arrives.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use spate_core::broker::{ErrorFault, FaultError};
use tokio::sync::oneshot;

/// One delay or drop rule.
#[derive(Debug, Clone)]
struct Rule {
    api: i16,
    /// Requests still to affect; `None`: until cleared.
    left: Option<u32>,
    /// The delay; `None`: a drop.
    delay: Option<Duration>,
}

/// The delays and drops armed on a broker, shared by its connections.
#[derive(Debug, Default)]
pub(crate) struct DriverFaults {
    rules: Mutex<Vec<Rule>>,
}

/// What a connection does with a frame of API `api` that just arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand it to the broker now.
    Pass,
    /// Hand it to the broker after this long.
    Delay(Duration),
    /// Close the connection without handing it over.
    Drop,
}

impl DriverFaults {
    /// Delays the next `count` requests of `api` (all, until cleared,
    /// when `None`) by `by`.
    pub(crate) fn delay(&self, api: i16, by: Duration, count: Option<u32>) {
        self.push(Rule {
            api,
            left: count,
            delay: Some(by),
        });
    }

    /// Closes the connection of each of the next `count` requests of `api`.
    pub(crate) fn drop_connections(&self, api: i16, count: u32) {
        self.push(Rule {
            api,
            left: Some(count),
            delay: None,
        });
    }

    fn push(&self, rule: Rule) {
        if rule.left != Some(0) {
            self.lock().push(rule);
        }
    }

    /// Disarms every delay and drop.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        // A panic elsewhere while holding the lock leaves plain data.
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What to do with the frame that starts `frame` (its API key is its
    /// first two bytes); the first rule for its API counts it.
    pub(crate) fn verdict(&self, frame: &[u8]) -> Verdict {
        let Some(k) = frame.get(..2) else {
            return Verdict::Pass;
        };
        let api = i16::from_be_bytes([k[0], k[1]]);
        let mut rules = self.lock();
        let Some(r) = rules.iter_mut().find(|r| r.api == api) else {
            return Verdict::Pass;
        };
        let verdict = match r.delay {
            Some(d) => Verdict::Delay(d),
            None => Verdict::Drop,
        };
        if let Some(n) = r.left.as_mut() {
            *n -= 1;
        }
        rules.retain(|r| r.left != Some(0));
        verdict
    }
}

/// What an embedded broker's handle asks of its owner loop; each answer
/// comes back once the owner has applied it and sent what followed.
pub(crate) enum Control {
    /// [`spate_core::broker::Broker::inject_error`].
    InjectError(ErrorFault, oneshot::Sender<Result<(), FaultError>>),
    /// [`spate_core::broker::Broker::fail_appends`].
    FailAppends(u32, Option<String>, oneshot::Sender<()>),
    /// [`spate_core::broker::Broker::clear_faults`].
    ClearFaults(oneshot::Sender<()>),
    /// [`spate_core::broker::Broker::observe`].
    Observe(bool, oneshot::Sender<()>),
    /// Drains [`spate_core::broker::Broker::poll_observed`].
    Observed(oneshot::Sender<Vec<Value>>),
    /// The virtual clock moved: fire what is due.
    Tick(oneshot::Sender<()>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_and_other_apis_pass() {
        let f = DriverFaults::default();
        f.drop_connections(3, 1);
        f.delay(0, Duration::from_millis(5), Some(2));
        let produce = [0u8, 0, 0, 9];
        let metadata = [0u8, 3, 0, 12];
        assert_eq!(f.verdict(&[0, 1, 0, 0]), Verdict::Pass);
        assert_eq!(f.verdict(&metadata), Verdict::Drop);
        assert_eq!(f.verdict(&metadata), Verdict::Pass);
        assert_eq!(
            f.verdict(&produce),
            Verdict::Delay(Duration::from_millis(5))
        );
        assert_eq!(
            f.verdict(&produce),
            Verdict::Delay(Duration::from_millis(5))
        );
        assert_eq!(f.verdict(&produce), Verdict::Pass);
        f.delay(0, Duration::from_millis(1), None);
        for _ in 0..3 {
            assert_eq!(
                f.verdict(&produce),
                Verdict::Delay(Duration::from_millis(1))
            );
        }
        f.clear();
        assert_eq!(f.verdict(&produce), Verdict::Pass);
    }
}
