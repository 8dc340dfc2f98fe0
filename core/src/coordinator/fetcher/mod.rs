//! The follower's side of replication (Kafka's `ReplicaFetcherManager`
//! and one `ReplicaFetcherThread` per source broker): a client state
//! machine that copies the logs of the partitions this broker follows
//! from their leaders.
//!
//! # Sessions
//!
//! One [`Session`] per leader broker holds the partitions this broker
//! follows there, each with the leader epoch LeaderAndIsr gave it. A
//! session has at most one request in flight; the broker turns what
//! [`Fetcher::poll`] returns into frames for the driver to send over an
//! outbound connection and feeds the answers back
//! ([`Fetcher::handle_response`]) or says the connection failed
//! ([`Fetcher::handle_failure`]: the request is lost, the session backs
//! off `replica.fetch.backoff.ms`).
//!
//! # A partition's phases
//!
//! ```text
//!   LeaderAndIsr (follower, new leader or epoch)
//!        │
//!        ▼           OffsetForLeaderEpoch answered: truncate
//!   Truncating ───────────────────────────────────────────► Fetching ◄─┐
//!     ▲   │ ▲                                                 │  │    │ records
//!     │   │ └── answer names an epoch this log lacks: cut,    │  │    │ appended
//!     │   │     ask again                                      │  └────┘
//!     │   └─ retriable error ──► Delayed { until, truncate } ◄─┘ retriable error
//!     │                             │ until passes: back to the phase it left
//!     └──── diverging epoch in a Fetch answer ────────────────┘ (from Fetching)
//!
//!   A fetched batch straddling this log's end (the leader's batches are cut
//!   differently there): cut this log to the batch's base, go on fetching.
//!
//!   Fetching ── OFFSET_OUT_OF_RANGE ──► Resetting { earliest: false } ── leader's end
//!                                          │  (ListOffsets latest)       below this log's:
//!                                          ▼                             cut ──► Fetching
//!                                     Resetting { earliest: true } ── leader's start past
//!                                        (ListOffsets earliest)       this log's end: restart
//!                                                                     there; else ──► Fetching
//!
//!   FENCED_LEADER_EPOCH (either request) ──► Stopped (until the next LeaderAndIsr)
//!   becomes leader, StopReplica, not hosted ──► leaves its session at once
//! ```
//!
//! Truncation follows Kafka 2.x (KIP-101, KIP-279): the follower sends its
//! latest leader epoch; the leader answers with the largest epoch it has
//! at most that and where it ends. When the follower has that epoch too,
//! it truncates to the smaller of the two ends (and of its log end); when
//! it does not, it cuts to where its own largest epoch below the answer
//! ends and asks again. A leader that cannot say (UNDEFINED) leaves the
//! log as it is: Kafka then truncates to the follower's high watermark
//! checkpoint, which Spate does not keep yet, so the log end stands in for
//! it; a log with no epoch in any batch is not asked about, for the same
//! reason.
//!
//! Fetching asks Fetch v12 with `replica_id` (no fetch session: every
//! request names every partition), from each log's end. Each batch is
//! appended at its own offsets, its CRC checked; its producer state and
//! any transaction it opens or ends are taken in as the broker does when
//! it replays its logs at start ([`crate::state::producers::Producers::replay`]),
//! so a follower that becomes leader dedupes retries and knows open
//! transactions. The follower keeps the leader's high watermark (capped by
//! its own log end; the broker starts its high watermark there if it is
//! made leader) and follows the leader's log start.
//!
//! # Errors, per partition
//!
//! | error | what happens |
//! |---|---|
//! | FENCED_LEADER_EPOCH | stopped until the next LeaderAndIsr (Kafka's `onPartitionFenced`) |
//! | NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH | retried after the backoff: the leader may not have had its LeaderAndIsr yet (Kafka retries these too) |
//! | OFFSET_OUT_OF_RANGE | as Kafka 2.x's `handleOutOfRangeError`: ListOffsets (as replica) for the leader's log end; when this log ran past it (an unclean leader), truncate there; else ListOffsets for the leader's log start, and when it lies past this log's end, restart there (`truncate_fully_and_start_at`) |
//! | UNKNOWN_TOPIC_OR_PARTITION, any other | retried after the backoff |
//!
//! A storage failure delays the partition the same way.

mod apply;

use crate::collections::Map;

use bytes::Bytes;

use crate::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use crate::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use crate::protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use crate::protocol::messages::request_header::RequestHeader;
use crate::protocol::messages::ApiKey;
use crate::protocol::{header, RequestBody};
use crate::state::epochs::Epochs;
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

pub(crate) use apply::ReplicaParts;

/// Fetch version the follower speaks: the last with `replica_id` in the
/// body and topic names (v13 moved to topic ids).
const FETCH_VERSION: i16 = 12;
/// OffsetForLeaderEpoch version: `replica_id` arrived in v3.
const EPOCH_VERSION: i16 = 4;
/// ListOffsets version: one offset per partition, with the current
/// leader epoch checked.
const OFFSETS_VERSION: i16 = 4;

/// The follower's settings (Kafka's `replica.fetch.*` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetcherConfig {
    /// This broker's id, sent as `replica_id`.
    pub me: i32,
    /// `replica.fetch.wait.max.ms`.
    pub max_wait_ms: i32,
    /// `replica.fetch.min.bytes`.
    pub min_bytes: i32,
    /// `replica.fetch.max.bytes`, per partition.
    pub partition_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub max_bytes: i32,
    /// `replica.fetch.backoff.ms`.
    pub backoff_ms: i64,
}

/// Where a followed partition stands (see the diagram in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// To ask the leader where the logs diverge before fetching.
    Truncating,
    /// Copying from its log end.
    Fetching,
    /// The leader answered OFFSET_OUT_OF_RANGE: asking it (ListOffsets)
    /// for its log end, then (`earliest`) its log start.
    Resetting { earliest: bool },
    /// Waiting after a retriable error; then truncating (`truncate`) or
    /// fetching again.
    Delayed { until: Now, truncate: bool },
    /// The leader fenced this epoch: nothing until the next LeaderAndIsr.
    Stopped,
}

/// A partition this broker follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Follow {
    /// The leader epoch LeaderAndIsr gave (sent as `current_leader_epoch`).
    epoch: i32,
    phase: Phase,
    /// The leader's high watermark as last heard, capped by this log's
    /// end (-1: not heard yet).
    high_watermark: i64,
}

/// What a session sent and waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    /// The partitions asked about, with the epoch they were asked at: an
    /// answer for a partition that moved on since is ignored.
    partitions: Vec<(TopicPartition, i32)>,
}

/// The partitions followed from one leader broker.
#[derive(Debug, Clone, Default)]
struct Session {
    partitions: Map<TopicPartition, Follow>,
    in_flight: Option<Sent>,
    /// No request before this (the connection failed).
    backoff_until: Now,
}

/// A request for the driver to send to `leader`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplicaRequest {
    pub leader: i32,
    /// The whole frame, size prefix included.
    pub frame: Bytes,
}

/// Every fetch session of this broker.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    config: FetcherConfig,
    sessions: Map<i32, Session>,
    next_correlation: i32,
}

impl Fetcher {
    /// No partition followed yet.
    pub fn new(config: FetcherConfig) -> Fetcher {
        Fetcher {
            config,
            sessions: Map::new(),
            next_correlation: 0,
        }
    }

    /// Makes the sessions follow exactly `wanted`: (partition, leader,
    /// leader epoch) of every partition this broker hosts as follower. A
    /// partition new here, or with a new leader or epoch, starts over by
    /// truncating (Kafka's `makeFollower` then `addFetcherForPartitions`);
    /// one not wanted any more leaves its session at once.
    pub fn sync(&mut self, wanted: &[(TopicPartition, i32, i32)]) {
        let wanted_map: Map<&TopicPartition, (i32, i32)> =
            wanted.iter().map(|(tp, l, e)| (tp, (*l, *e))).collect();
        for (&leader, s) in self.sessions.iter_mut() {
            s.partitions
                .retain(|tp, f| wanted_map.get(tp) == Some(&(leader, f.epoch)));
        }
        for (tp, leader, epoch) in wanted {
            let s = self.sessions.entry(*leader).or_default();
            s.partitions.entry(tp.clone()).or_insert(Follow {
                epoch: *epoch,
                phase: Phase::Truncating,
                high_watermark: -1,
            });
        }
        self.sessions
            .retain(|_, s| !s.partitions.is_empty() || s.in_flight.is_some());
    }

    /// The high watermark this follower knows for `tp` (the leader's,
    /// capped by its own log end), if it follows it and has heard.
    pub fn high_watermark(&self, tp: &TopicPartition) -> Option<i64> {
        self.sessions
            .values()
            .find_map(|s| s.partitions.get(tp))
            .map(|f| f.high_watermark)
            .filter(|&hw| hw >= 0)
    }

    /// Every followed partition's known high watermark.
    pub fn high_watermarks(&self) -> Vec<(TopicPartition, i64)> {
        self.sessions
            .values()
            .flat_map(|s| s.partitions.iter())
            .filter(|(_, f)| f.high_watermark >= 0)
            .map(|(tp, f)| (tp.clone(), f.high_watermark))
            .collect()
    }

    /// The next request of every session that can send one now: idle, not
    /// backing off, `reachable` (the leader's endpoint is known), with a
    /// partition to truncate or fetch. Truncation goes first.
    pub fn poll<S: Storage>(
        &mut self,
        storage: &S,
        epochs: &mut Epochs,
        reachable: impl Fn(i32) -> bool,
        now: Now,
    ) -> Vec<ReplicaRequest> {
        let mut out = Vec::new();
        let leaders: Vec<i32> = self.sessions.keys().copied().collect();
        for leader in leaders {
            if !reachable(leader) {
                continue;
            }
            if let Some(r) = self.poll_session(leader, storage, epochs, now) {
                out.push(r);
            }
        }
        out
    }

    fn poll_session<S: Storage>(
        &mut self,
        leader: i32,
        storage: &S,
        epochs: &mut Epochs,
        now: Now,
    ) -> Option<ReplicaRequest> {
        let s = self.sessions.get_mut(&leader)?;
        if s.in_flight.is_some() || s.backoff_until > now {
            return None;
        }
        for f in s.partitions.values_mut() {
            if let Phase::Delayed { until, truncate } = f.phase {
                if until <= now {
                    f.phase = if truncate {
                        Phase::Truncating
                    } else {
                        Phase::Fetching
                    };
                }
            }
        }
        // A log without an epoch has nothing to compare: it fetches.
        let mut truncating = Vec::new();
        for (tp, f) in s.partitions.iter_mut() {
            if f.phase != Phase::Truncating {
                continue;
            }
            epochs.catch_up(storage, tp);
            match epochs.latest(tp) {
                Some(latest) => truncating.push((tp.clone(), f.epoch, latest)),
                None => f.phase = Phase::Fetching,
            }
        }
        let me = self.config.me;
        let resetting: Vec<(TopicPartition, i32, bool)> = s
            .partitions
            .iter()
            .filter_map(|(tp, f)| match f.phase {
                Phase::Resetting { earliest } => Some((tp.clone(), f.epoch, earliest)),
                _ => None,
            })
            .collect();
        let (body, version, partitions) = if !truncating.is_empty() {
            let partitions = truncating
                .iter()
                .map(|(tp, e, _)| (tp.clone(), *e))
                .collect();
            (epoch_request(me, &truncating), EPOCH_VERSION, partitions)
        } else if !resetting.is_empty() {
            let partitions = resetting
                .iter()
                .map(|(tp, e, _)| (tp.clone(), *e))
                .collect();
            (offsets_request(me, &resetting), OFFSETS_VERSION, partitions)
        } else {
            let fetching: Vec<(TopicPartition, i32)> = s
                .partitions
                .iter()
                .filter(|(_, f)| f.phase == Phase::Fetching)
                .map(|(tp, f)| (tp.clone(), f.epoch))
                .collect();
            if fetching.is_empty() {
                return None;
            }
            let body = fetch_request(&self.config, storage, &fetching);
            (body, FETCH_VERSION, fetching)
        };
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation_id = self.next_correlation;
        let key = body.api_key();
        let head = RequestHeader {
            request_api_key: key as i16,
            request_api_version: version,
            correlation_id,
            client_id: Some(format!("broker-{me}-fetcher-{leader}").into()),
            ..Default::default()
        };
        // Encoding what this module built cannot fail but for a bug; the
        // session then simply stays idle.
        let frame = encode(&head, &body)?;
        let s = self.sessions.get_mut(&leader)?;
        s.in_flight = Some(Sent {
            correlation_id,
            key,
            version,
            partitions,
        });
        Some(ReplicaRequest { leader, frame })
    }

    /// The request in flight to `leader` is lost (connection refused,
    /// dropped, or an answer that made no sense): the session backs off.
    pub fn handle_failure(&mut self, leader: i32, now: Now) {
        if let Some(s) = self.sessions.get_mut(&leader) {
            s.in_flight = None;
            s.backoff_until = now + self.config.backoff_ms;
        }
        self.sessions
            .retain(|_, s| !s.partitions.is_empty() || s.in_flight.is_some());
    }

    /// When [`Fetcher::poll`] may next have something that waits on time
    /// (a backoff or a delayed partition ending), if after `now`. A
    /// session ready now but not sent (its leader's endpoint unknown)
    /// waits for news instead.
    pub fn next_deadline(&self, now: Now) -> Option<Now> {
        self.sessions
            .values()
            .filter(|s| s.in_flight.is_none())
            .flat_map(|s| {
                let delays = s.partitions.values().filter_map(|f| match f.phase {
                    Phase::Delayed { until, .. } => Some(until.max(s.backoff_until)),
                    _ => None,
                });
                let ready = s.partitions.values().any(|f| {
                    matches!(
                        f.phase,
                        Phase::Truncating | Phase::Fetching | Phase::Resetting { .. }
                    )
                });
                delays.chain(ready.then_some(s.backoff_until))
            })
            .filter(|&at| at > now)
            .min()
    }
}

/// OffsetForLeaderEpoch for `(partition, current epoch, latest epoch)`.
/// The frame of a request this module built, encoded by its own message
/// type so that only these three encoders are linked (not every request's,
/// as [`header::encode_request`]'s `RequestBody::encode` would).
fn encode(head: &RequestHeader, body: &RequestBody) -> Option<Bytes> {
    let frame = match body {
        RequestBody::Fetch(b) => header::encode_request_of(ApiKey::Fetch, head, b),
        RequestBody::ListOffsets(b) => header::encode_request_of(ApiKey::ListOffsets, head, b),
        RequestBody::OffsetForLeaderEpoch(b) => {
            header::encode_request_of(ApiKey::OffsetForLeaderEpoch, head, b)
        }
        _ => return None,
    };
    frame.ok()
}

fn epoch_request(me: i32, truncating: &[(TopicPartition, i32, i32)]) -> RequestBody {
    let mut topics: Vec<OffsetForLeaderTopic> = Vec::new();
    for (tp, current, latest) in truncating {
        let p = OffsetForLeaderPartition {
            partition: tp.partition,
            current_leader_epoch: *current,
            leader_epoch: *latest,
            ..Default::default()
        };
        match topics.last_mut() {
            Some(t) if *t.topic == *tp.topic => t.partitions.push(p),
            _ => topics.push(OffsetForLeaderTopic {
                topic: tp.topic.clone().into(),
                partitions: vec![p],
                ..Default::default()
            }),
        }
    }
    RequestBody::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
        replica_id: me,
        topics,
        ..Default::default()
    })
}

/// ListOffsets as a replica: each partition's log end (latest, -1) or,
/// when `earliest`, its log start (-2).
fn offsets_request(me: i32, resetting: &[(TopicPartition, i32, bool)]) -> RequestBody {
    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for (tp, epoch, earliest) in resetting {
        let p = ListOffsetsPartition {
            partition_index: tp.partition,
            current_leader_epoch: *epoch,
            timestamp: if *earliest { -2 } else { -1 },
            ..Default::default()
        };
        match topics.last_mut() {
            Some(t) if *t.name == *tp.topic => t.partitions.push(p),
            _ => topics.push(ListOffsetsTopic {
                name: tp.topic.clone().into(),
                partitions: vec![p],
                ..Default::default()
            }),
        }
    }
    RequestBody::ListOffsets(ListOffsetsRequest {
        replica_id: me,
        isolation_level: 0,
        topics,
        ..Default::default()
    })
}

/// A full (sessionless) replica Fetch from each partition's log end.
fn fetch_request<S: Storage>(
    c: &FetcherConfig,
    storage: &S,
    fetching: &[(TopicPartition, i32)],
) -> RequestBody {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (tp, epoch) in fetching {
        let p = FetchPartition {
            partition: tp.partition,
            current_leader_epoch: *epoch,
            fetch_offset: storage.end_offset(tp),
            last_fetched_epoch: -1,
            log_start_offset: storage.start_offset(tp),
            partition_max_bytes: c.partition_max_bytes,
            ..Default::default()
        };
        match topics.last_mut() {
            Some(t) if *t.topic == *tp.topic => t.partitions.push(p),
            _ => topics.push(FetchTopic {
                topic: tp.topic.clone().into(),
                partitions: vec![p],
                ..Default::default()
            }),
        }
    }
    RequestBody::Fetch(FetchRequest {
        replica_id: c.me,
        max_wait_ms: c.max_wait_ms,
        min_bytes: c.min_bytes,
        max_bytes: c.max_bytes,
        isolation_level: 0,
        session_id: 0,
        session_epoch: -1,
        topics,
        ..Default::default()
    })
}
