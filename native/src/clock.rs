//! The wall clock, read in one place: the broker's `now` for the core,
//! Kafka's record and znode timestamps, and the CLI's.
//!
//! A broker's owner loop reads its time from a [`Clock`]: the wall clock,
//! or (an embedded broker's virtual clock mode, `spate::Broker`) a clock
//! that moves only when the test says so. The core takes `now` with every
//! call and never reads a clock, so a virtual clock is all it takes for a
//! 30-second session timeout to expire the moment a test advances time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 before it; saturating far after).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One broker's time: the wall clock, or a virtual one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    /// The virtual time in milliseconds; `None`: the wall clock.
    virtual_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// A virtual clock that reads `start` until [`Clock::advance`]d.
    pub(crate) fn virtual_at(start: i64) -> Clock {
        Clock {
            virtual_ms: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    /// Whether time moves only when told.
    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_ms.is_some()
    }

    /// Now, in milliseconds since the Unix epoch.
    pub(crate) fn now(&self) -> i64 {
        match &self.virtual_ms {
            Some(t) => t.load(Ordering::SeqCst),
            None => now_ms(),
        }
    }

    /// Moves a virtual clock `ms` forward (a wall clock is left alone);
    /// returns the new time.
    pub(crate) fn advance(&self, ms: i64) -> i64 {
        match &self.virtual_ms {
            Some(t) => t.fetch_add(ms.max(0), Ordering::SeqCst) + ms.max(0),
            None => now_ms(),
        }
    }
}
