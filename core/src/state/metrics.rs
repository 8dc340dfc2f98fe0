//! The broker's counters: plain numbers its handlers add to, for a driver
//! to expose (the native broker's `--metrics` endpoint renders them in
//! Prometheus's text format).
//!
//! Only what must be counted as it happens lives here: records and bytes
//! in and out per topic (Kafka's `BrokerTopicMetrics`) and requests
//! completed per API and version (Kafka's `RequestMetrics`). Gauges (log
//! sizes, consumer lag, group states, parked requests) are read from the
//! broker's state when asked, and time is the driver's: the core has no
//! clock. A driver that times requests turns on
//! [`Metrics::set_timing`] and drains [`Metrics::drain_completed`] after
//! each input: every request the broker finished, by connection, in the
//! order it finished them, which on one connection is the order its
//! requests arrived. With [`Metrics::set_errors`] each of those also
//! carries the first error code of its response (for a request log; it
//! costs a walk over the response, so it is off unless asked for).
//!
//! Counting costs a map lookup by topic per partition of a produce or
//! fetch, and one per request: no allocation after a topic's first
//! record, nothing per record.

use std::collections::VecDeque;

use crate::collections::Map;

use super::ConnId;
use crate::protocol::ErrorCode;

/// What went through one topic (or all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicCounts {
    /// Records appended by produce requests (Kafka's `MessagesInPerSec`).
    pub messages_in: u64,
    /// Bytes of record batches appended by produce requests, as they came
    /// (Kafka's `BytesInPerSec`).
    pub bytes_in: u64,
    /// Bytes of record data returned to consumers' fetches (Kafka's
    /// `BytesOutPerSec`; followers' fetches are not counted).
    pub bytes_out: u64,
}

/// A request the broker finished (see [`Metrics::drain_completed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// The connection it came on.
    pub conn: ConnId,
    /// Kafka's request name (`Produce`, `FetchConsumer`, `Metadata`, ...).
    pub name: &'static str,
    /// The request's version.
    pub version: i16,
    /// The first non-zero error code of its response (top-level first),
    /// when [`Metrics::set_errors`] is on; `None` also for no response.
    pub error: Option<ErrorCode>,
    /// Bytes of its response frame, size prefix included (0: none sent).
    pub response_bytes: usize,
}

/// The counters (see the module docs).
#[derive(Debug, Default)]
pub struct Metrics {
    topics: Map<String, TopicCounts>,
    all: TopicCounts,
    /// Requests completed, by Kafka's request name and version.
    requests: Map<(&'static str, i16), u64>,
    /// Requests finished since the driver last drained them (only while
    /// timing is on).
    completed: Option<VecDeque<Completed>>,
    /// Whether completions carry their response's first error.
    errors: bool,
}

impl Metrics {
    /// Every topic that has seen records, with its counts.
    pub fn topics(&self) -> impl Iterator<Item = (&str, &TopicCounts)> {
        self.topics.iter().map(|(t, c)| (t.as_str(), c))
    }

    /// The counts over all topics.
    pub fn all_topics(&self) -> TopicCounts {
        self.all
    }

    /// Requests completed: Kafka's request name (`Produce`,
    /// `FetchConsumer`, `FetchFollower`, `Metadata`, ...), version, count.
    pub fn requests(&self) -> impl Iterator<Item = (&'static str, i16, u64)> + '_ {
        self.requests.iter().map(|(&(n, v), &c)| (n, v, c))
    }

    /// Turns on (or off) the record of completed requests the driver
    /// times them by. Off, nothing is kept.
    pub fn set_timing(&mut self, on: bool) {
        self.completed = on.then(VecDeque::new);
    }

    /// Whether each completion carries its response's first error code
    /// (only while timing is on).
    pub fn set_errors(&mut self, on: bool) {
        self.errors = on;
    }

    /// Whether completions are to carry errors: a handler answering
    /// asks before it looks for one.
    pub(crate) fn wants_errors(&self) -> bool {
        self.errors && self.completed.is_some()
    }

    /// The requests finished since the last call, oldest first.
    pub fn drain_completed(&mut self) -> impl Iterator<Item = Completed> + '_ {
        self.completed.iter_mut().flat_map(|q| q.drain(..))
    }

    fn topic(&mut self, topic: &str) -> &mut TopicCounts {
        // A lookup by &str first: the name is copied once per topic.
        if !self.topics.contains_key(topic) {
            self.topics.insert(topic.to_owned(), TopicCounts::default());
        }
        self.topics.get_mut(topic).expect("inserted above")
    }

    /// A produce appended `messages` records in `bytes` bytes to `topic`.
    pub(crate) fn produced(&mut self, topic: &str, messages: u64, bytes: u64) {
        let t = self.topic(topic);
        t.messages_in += messages;
        t.bytes_in += bytes;
        self.all.messages_in += messages;
        self.all.bytes_in += bytes;
    }

    /// A consumer's fetch returned `bytes` bytes of `topic`'s records.
    pub(crate) fn fetched(&mut self, topic: &str, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.topic(topic).bytes_out += bytes;
        self.all.bytes_out += bytes;
    }

    /// The request `name` v`version` on `conn` is finished (answered, or
    /// done without an answer), with `error` in its response of
    /// `response_bytes`.
    pub(crate) fn completed(
        &mut self,
        conn: ConnId,
        (name, version): (&'static str, i16),
        error: Option<ErrorCode>,
        response_bytes: usize,
    ) {
        *self.requests.entry((name, version)).or_default() += 1;
        if let Some(q) = &mut self.completed {
            q.push_back(Completed {
                conn,
                name,
                version,
                error,
                response_bytes,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_topic_and_in_all() {
        let mut m = Metrics::default();
        m.produced("a", 3, 100);
        m.produced("b", 1, 10);
        m.produced("a", 2, 50);
        m.fetched("a", 70);
        m.fetched("b", 0);
        let a = m.topics().find(|(t, _)| *t == "a").unwrap().1;
        assert_eq!((a.messages_in, a.bytes_in, a.bytes_out), (5, 150, 70));
        assert_eq!(
            m.all_topics(),
            TopicCounts {
                messages_in: 6,
                bytes_in: 160,
                bytes_out: 70
            }
        );
    }

    #[test]
    fn completions_are_kept_only_while_timing() {
        let mut m = Metrics::default();
        m.completed(1, ("Produce", 9), None, 0);
        assert_eq!(m.drain_completed().count(), 0);
        m.set_timing(true);
        m.completed(1, ("Produce", 9), None, 0);
        let e = Some(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        m.completed(2, ("FetchConsumer", 12), e, 40);
        let got: Vec<_> = m
            .drain_completed()
            .map(|c| (c.conn, c.name, c.version, c.error, c.response_bytes))
            .collect();
        assert_eq!(
            got,
            vec![(1, "Produce", 9, None, 0), (2, "FetchConsumer", 12, e, 40)]
        );
        assert_eq!(m.drain_completed().count(), 0);
        let counts: Vec<_> = m.requests().collect();
        assert_eq!(counts, vec![("FetchConsumer", 12, 1), ("Produce", 9, 2)]);
    }
}
