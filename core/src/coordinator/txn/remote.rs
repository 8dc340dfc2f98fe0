//! The marker outbox (ZooKeeper mode), as Kafka 2.x's
//! `TransactionMarkerChannelManager`: a transaction ending in a cluster
//! waits, prepared, until every partition's leader has its marker in
//! every ISR replica, then its completion is written. That holds for the
//! partitions this broker leads too: Kafka's coordinator sends their
//! markers through the same WriteTxnMarkers path, appended with acks=-1,
//! so a completion is never written while a follower that may become the
//! partition's leader lacks the marker.
//!
//! [`TxnCoordinator::defer`] takes the partitions and the completion to
//! write after them. The broker takes what is due
//! ([`TxnCoordinator::due_markers`]), resolves each partition's leader,
//! writes a marker itself when the leader is this broker, and sends the
//! rest (`broker::markers`); every partition's outcome comes back through
//! [`TxnCoordinator::settle`]: written and replicated (or to be skipped,
//! as Kafka's marker channel drops a partition of a deleted topic or a
//! stale marker), written here and waiting for the followers
//! ([`Outcome::Replicating`]), or to be sent again after
//! [`RETRY_BACKOFF_MS`] (a NOT_LEADER_OR_FOLLOWER answer, a lost
//! connection: the leader is looked up again then). A marker written here
//! waits until [`Cluster::acks_all`](crate::state::cluster::Cluster::acks_all)
//! says the high watermark passed it; the errors it may end with
//! (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS_AFTER_APPEND, and
//! REQUEST_TIMED_OUT once `request.timeout.ms` passed) are all retried, as
//! Kafka's `TransactionMarkerRequestCompletionHandler` retries them: the
//! marker is written again by whichever broker leads the partition then.
//! [`TxnCoordinator::completed`] hands back the completions whose markers
//! are all written and replicated. An id whose partition of
//! `__transaction_state` stops being led here loses what it waited for
//! (`owned`), as Kafka's `removeMarkersForTxnTopicPartition`.
//!
//! In a cluster the prepared state must be in every ISR replica of its
//! `__transaction_state` partition before any marker is written (Kafka
//! appends it with acks=-1 and sends markers from the callback): until
//! then every partition waits in the outbox (`Remote::after`), so a
//! coordinator that dies meanwhile leaves a transaction its successor
//! loads as Ongoing (and aborts) with no marker written anywhere.

use std::collections::VecDeque;

use crate::collections::{Map, Set};

use bytestring::ByteString;

use super::{Markers, TxnCoordinator, TxnMeta, RETRY_BACKOFF_MS};
use crate::protocol::ErrorCode;
use crate::state::Now;
use crate::storage::TopicPartition;

/// How often markers waiting for their prepared state (or for themselves)
/// to be replicated look again when nothing else wakes the coordinator.
const AFTER_POLL_MS: Now = 100;

/// One transaction's markers not yet all written and replicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    /// The marker (its `partitions` unused: see `unsent` and `in_flight`).
    pub markers: Markers,
    /// The completion to write once every marker is written.
    pub then: TxnMeta,
    /// Partitions to send at or after `retry_at`.
    pub unsent: Set<(ByteString, i32)>,
    pub retry_at: Now,
    /// Partitions sent and not answered yet.
    pub in_flight: Set<(ByteString, i32)>,
    /// Partitions whose marker this broker wrote as their leader, waiting
    /// for the high watermark to reach the offset beside them (one past
    /// the marker), until the deadline beside it.
    pub replicating: Map<(ByteString, i32), (i64, Now)>,
    /// When markers in `replicating` are looked at again, if nothing
    /// else wakes the coordinator before.
    pub check_at: Now,
    /// Nothing is sent before this partition of `__transaction_state`
    /// has the prepared state up to this offset in every ISR replica
    /// (Kafka sends markers only once the prepare is replicated).
    pub after: Option<(TopicPartition, i64)>,
}

/// What waits on other brokers' markers, and the requests in flight.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Per transactional id.
    waiting: Map<ByteString, Remote>,
    /// The WriteTxnMarkers requests in flight to each broker, oldest first
    /// (the driver answers them in order).
    sent: Map<i32, VecDeque<Sent>>,
    next_correlation: i32,
}

/// A partition: topic, index.
pub(crate) type Part = (ByteString, i32);

/// One WriteTxnMarkers request in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub correlation_id: i32,
    /// Per transactional id, the producer id of its marker and the
    /// partitions it carries the marker to.
    pub txns: Vec<(ByteString, i64, Vec<Part>)>,
}

impl Remote {
    /// `part` is to be sent again, after a backoff unless others already
    /// wait to be.
    fn retry(&mut self, part: (ByteString, i32), now: Now) {
        if self.unsent.is_empty() {
            self.retry_at = now + RETRY_BACKOFF_MS;
        }
        self.unsent.insert(part);
    }

    /// Looks again at the markers written here: replicated ones are
    /// done; those whose wait failed (leadership moved, the ISR shrank
    /// below `min.insync.replicas`) or passed its deadline
    /// (REQUEST_TIMED_OUT) are sent again, as Kafka's completion handler
    /// retries these errors.
    fn check_replicating(
        &mut self,
        now: Now,
        acks: &impl Fn(&TopicPartition, i64) -> Option<ErrorCode>,
    ) {
        if self.replicating.is_empty() {
            return;
        }
        let mut failed = Vec::new();
        self.replicating.retain(|(topic, p), (offset, deadline)| {
            let tp = TopicPartition::new(&**topic, *p);
            match acks(&tp, *offset) {
                Some(ErrorCode::NONE) => false,
                None if now < *deadline => true,
                // An error, or REQUEST_TIMED_OUT.
                _ => {
                    failed.push((topic.clone(), *p));
                    false
                }
            }
        });
        for part in failed {
            self.retry(part, now);
        }
        if let Some(first) = self.replicating.values().map(|(_, d)| *d).min() {
            self.check_at = (now + AFTER_POLL_MS).min(first);
        }
    }
}

impl Outbox {
    /// Forgets the transactions `gone` picks (their id's partition of
    /// `__transaction_state` is no longer led here).
    pub fn forget(&mut self, gone: impl Fn(&ByteString) -> bool) {
        self.waiting.retain(|id, _| !gone(id));
    }
}

/// What became of one partition's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written and in every ISR replica, or not to be written (the topic
    /// is gone, the marker is stale).
    Done,
    /// Written here, as the partition's leader: done once the high
    /// watermark reaches this offset (one past the marker).
    Replicating(i64),
    /// Send it again later (its leader moved, the request was lost, too
    /// few replicas in sync).
    Retry,
}

impl TxnCoordinator {
    /// `remote` partitions of `markers` (all of them, in ZooKeeper mode)
    /// wait to be sent or written here, and `then` (the transaction's
    /// completion) is written once they are all written and replicated.
    /// The transaction stays prepared, without a deadline, meanwhile.
    pub fn defer(
        &mut self,
        markers: Markers,
        remote: Vec<(ByteString, i32)>,
        then: TxnMeta,
        now: Now,
        after: Option<(TopicPartition, i64)>,
    ) {
        let id = markers.transactional_id.clone();
        self.deadlines.set(&id, None);
        self.remote.waiting.insert(
            id,
            Remote {
                markers,
                then,
                unsent: remote.into_iter().collect(),
                retry_at: now,
                in_flight: Set::new(),
                replicating: Map::new(),
                check_at: now,
                after,
            },
        );
    }

    /// Whether `id` waits on its markers.
    pub fn waits_on_markers(&self, id: &str) -> bool {
        self.remote.waiting.contains_key(id)
    }

    /// The markers due at `now`: per transaction, its marker and the
    /// partitions to write it to, which are in flight from now on until
    /// [`TxnCoordinator::settle`]d. `acks(tp, offset)` is
    /// [`Cluster::acks_all`](crate::state::cluster::Cluster::acks_all):
    /// whether every ISR replica of `tp` has its log up to `offset`
    /// (`None` while one lacks it). Markers waiting for their prepared
    /// state to be replicated wait on; markers written here and now
    /// replicated are done, and those whose wait failed or timed out are
    /// due again after a backoff.
    pub fn due_markers(
        &mut self,
        now: Now,
        acks: impl Fn(&TopicPartition, i64) -> Option<ErrorCode>,
    ) -> Vec<(Markers, Vec<(ByteString, i32)>)> {
        let mut due = Vec::new();
        for r in self.remote.waiting.values_mut() {
            r.check_replicating(now, &acks);
            if r.unsent.is_empty() {
                continue;
            }
            // Markers waiting for their prepared state go as soon as it is
            // replicated; meanwhile they are looked at again every
            // `AFTER_POLL_MS` (a deadline left in the past would fire the
            // broker's timer without end).
            if let Some((tp, offset)) = &r.after {
                if acks(tp, *offset).is_none() {
                    r.retry_at = now + AFTER_POLL_MS;
                    continue;
                }
                r.after = None;
            } else if r.retry_at > now {
                continue;
            }
            let parts: Vec<_> = std::mem::take(&mut r.unsent).into_iter().collect();
            r.in_flight.extend(parts.iter().cloned());
            due.push((r.markers.clone(), parts));
        }
        due
    }

    /// The outcome of `id`'s marker in `part`. A partition the
    /// transaction no longer waits for (its id moved away, or an answer
    /// came twice) changes nothing.
    pub fn settle(&mut self, id: &str, part: &(ByteString, i32), outcome: Outcome, now: Now) {
        let timeout = self.config.request_timeout_ms;
        let Some(r) = self.remote.waiting.get_mut(id) else {
            return;
        };
        if !r.in_flight.remove(part) {
            return;
        }
        match outcome {
            Outcome::Done => {}
            Outcome::Replicating(offset) => {
                let deadline = now.saturating_add(timeout);
                if r.replicating.is_empty() || r.check_at > now + AFTER_POLL_MS {
                    r.check_at = (now + AFTER_POLL_MS).min(deadline);
                }
                r.replicating.insert(part.clone(), (offset, deadline));
            }
            Outcome::Retry => r.retry(part.clone(), now),
        }
    }

    /// The completions of the transactions whose markers are all written,
    /// to be written now ([`super::Step::Write`]).
    pub fn completed(&mut self) -> Vec<TxnMeta> {
        let done: Vec<ByteString> = self
            .remote
            .waiting
            .iter()
            .filter(|(_, r)| {
                r.unsent.is_empty() && r.in_flight.is_empty() && r.replicating.is_empty()
            })
            .map(|(id, _)| id.clone())
            .collect();
        done.into_iter()
            .filter_map(|id| self.remote.waiting.remove(&id))
            .map(|r| r.then)
            .collect()
    }

    /// The earliest time markers are due to be sent again, or markers
    /// written here looked at again.
    pub(super) fn next_marker_retry(&self) -> Option<Now> {
        let waiting = self.remote.waiting.values();
        let unsent = waiting.clone().filter(|r| !r.unsent.is_empty());
        let replicating = waiting.filter(|r| !r.replicating.is_empty());
        unsent
            .map(|r| r.retry_at)
            .chain(replicating.map(|r| r.check_at))
            .min()
    }

    /// A correlation id for the next WriteTxnMarkers request.
    pub fn next_marker_correlation(&mut self) -> i32 {
        self.remote.next_correlation = self.remote.next_correlation.wrapping_add(1);
        self.remote.next_correlation
    }

    /// `sent` went to `broker`, after those in flight to it.
    pub fn markers_sent(&mut self, broker: i32, sent: Sent) {
        self.remote.sent.entry(broker).or_default().push_back(sent);
    }

    /// The oldest request in flight to `broker`, which its answer (or its
    /// loss) is for.
    pub fn markers_answered(&mut self, broker: i32) -> Option<Sent> {
        let q = self.remote.sent.get_mut(&broker)?;
        let s = q.pop_front();
        if q.is_empty() {
            self.remote.sent.remove(&broker);
        }
        s
    }
}
