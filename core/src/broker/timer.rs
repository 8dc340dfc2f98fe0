//! The timer queue: deadlines the broker must act on, earliest first.

use crate::collections::{Map, Set};

use crate::state::{ConnId, Now};

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// A parked request on this connection reaches its deadline.
    Parked(ConnId),
    /// Time to apply retention to every log.
    Retention,
    /// Time for the log cleaner to look for a log to compact.
    Cleaner,
    /// The group coordinator's earliest deadline (sessions, rebalances).
    Groups,
    /// Time to expire committed offsets past `offsets.retention.minutes`.
    OffsetsRetention,
    /// The transaction coordinator's earliest deadline (a transaction's
    /// timeout, or markers to try again).
    Transactions,
    /// Time for the partitions led here to check their ISR (ZooKeeper
    /// mode).
    Isr,
    /// The earliest deadline of a held CreateTopics (ZooKeeper mode).
    Creates,
    /// The replica fetcher's earliest backoff or delayed partition ends.
    Replicas,
}

/// Deadlines by kind; each kind has at most one.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: Set<(Now, TimerKind)>,
    by_kind: Map<TimerKind, Now>,
}

impl Timers {
    /// Sets (or moves) the timer of `kind` to `at`.
    pub fn set(&mut self, at: Now, kind: TimerKind) {
        self.cancel(kind);
        self.queue.insert((at, kind));
        self.by_kind.insert(kind, at);
    }

    /// Removes the timer of `kind`, if set.
    pub fn cancel(&mut self, kind: TimerKind) {
        if let Some(at) = self.by_kind.remove(&kind) {
            self.queue.remove(&(at, kind));
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Now> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Removes and returns a timer due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Now) -> Option<TimerKind> {
        let &(at, kind) = self.queue.first()?;
        if at > now {
            return None;
        }
        self.queue.remove(&(at, kind));
        self.by_kind.remove(&kind);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_moves_replace() {
        let mut t = Timers::default();
        t.set(50, TimerKind::Retention);
        t.set(30, TimerKind::Parked(1));
        t.set(10, TimerKind::Parked(1));
        assert_eq!(t.next(), Some(10));
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(60), Some(TimerKind::Parked(1)));
        assert_eq!(t.pop_due(60), Some(TimerKind::Retention));
        assert_eq!(t.pop_due(60), None);
        assert_eq!(t.next(), None);
    }
}
