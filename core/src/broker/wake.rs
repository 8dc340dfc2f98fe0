//! Waking parked requests when their partitions change, and the one race
//! that needs a second look: a request parked after an append it did not
//! see.
//!
//! A follower's Fetch can move the high watermark, which answers an
//! acks=all Produce parked on another connection; that connection then
//! runs the next Produce in its queue, which appends. All of this happens
//! inside the Fetch's own `run`, after it read the log and before it is
//! parked, so the append's `wake` cannot find it: without a second look
//! it would wait out its whole `max_wait_ms`, and a pipelining producer
//! would get one acks=all answer per follower wait.

use crate::collections::Set;

use super::conn::InFlight;
use super::{Broker, ConnId, Now};
use crate::storage::{Storage, TopicPartition};

impl<S: Storage> Broker<S> {
    /// Records were appended to `partitions`, or their high watermark or
    /// leadership changed: the requests parked on them run again, in
    /// connection order.
    pub(super) fn wake(&mut self, partitions: &[TopicPartition], now: Now) {
        if !partitions.is_empty() {
            self.append_seq += 1;
            for tp in partitions {
                self.last_append.insert(tp.clone(), self.append_seq);
            }
        }
        let mut woken = Set::new();
        for tp in partitions {
            if let Some(conns) = self.waiting.get(tp) {
                woken.extend(conns.iter().copied());
            }
        }
        for conn in woken {
            self.resume(conn, now, false);
        }
    }

    /// The request of `conn` has just been finished; if it parked on a
    /// partition woken since `seq` (the wake count before it was parked),
    /// it runs again now.
    pub(super) fn catch_up(&mut self, conn: ConnId, seq: u64, now: Now) {
        if self.append_seq == seq {
            return;
        }
        let missed = match self.conns.get(&conn).and_then(|c| c.in_flight.as_ref()) {
            Some(InFlight::Parked(p)) => p
                .partitions()
                .iter()
                .any(|tp| self.last_append.get(tp).is_some_and(|&at| at > seq)),
            _ => false,
        };
        if missed {
            self.resume(conn, now, false);
        }
    }
}
