//! The broker: a sans-I/O state machine that turns request frames into
//! response frames over a [`Storage`].
//!
//! # How to drive it
//!
//! Methods come in three kinds, after quinn-proto:
//!
//! - `handle_*` feed input: a connection opened, a frame arrived (its size
//!   prefix already removed), a connection closed, time passed. Every one
//!   takes `now`, milliseconds since the Unix epoch; the broker never reads
//!   a clock.
//! - `poll_*` return output: [`Broker::poll_output`] the next response,
//!   close or replica request, [`Broker::poll_timeout`] the next moment
//!   something is due.
//! - getters take `&self` and change nothing.
//!
//! After every `handle_*` call, drain `poll_output` until it returns `None`,
//! then sleep until `poll_timeout` or the next input, and call
//! [`Broker::handle_timeout`] when the time comes. Spurious extra calls to
//! `handle_timeout` are no-ops.
//!
//! Outputs are of two kinds: [`Output::Response`] and [`Output::Close`]
//! for a connection, and, in ZooKeeper mode only, [`Output::CreateTopics`]
//! for the driver itself: write the topics to ZooKeeper, then report with
//! [`Broker::handle_topics_created`] and the output's request id (that
//! call is an input like any other: drain again after it). The request
//! that asked stays held until then (see "In a cluster").
//!
//! In a cluster ([`Config::zk_mode`]) the broker is also a client of other
//! brokers: as follower of a partition it fetches from the partition's
//! leader. [`Output::Replica`] names the leader (id, host, port) and
//! carries a whole request frame, size prefix included. The driver keeps
//! one outbound connection per leader, writes the frame, reads one
//! response frame and hands it back, its size prefix removed, with
//! [`Broker::handle_replica_response`]; if the connection is refused or
//! drops before the response is read, it calls
//! [`Broker::handle_replica_failure`] instead (the request is lost; the
//! broker backs off `replica.fetch.backoff.ms` and sends another, whose
//! connection the driver opens afresh). The broker has at most one request
//! in flight per leader, so the driver needs no queue of its own beyond
//! writing frames in the order they come:
//!
//! ```text
//!   poll_output ─► Output::Replica { leader, host, port, frame }
//!                      │ write frame to leader's connection (connect first if none)
//!                      ▼
//!                  read 4-byte size, then that many bytes
//!                      │ ok                          │ error (refused, EOF, timeout)
//!                      ▼                             ▼
//!   handle_replica_response(leader, frame, now)   handle_replica_failure(leader, now)
//! ```
//!
//! As a transaction coordinator it sends markers for partitions led
//! elsewhere the same way, [`Output::TxnMarkers`] answered with
//! [`Broker::handle_markers_response`] or [`Broker::handle_markers_failure`],
//! on connections apart from the fetches', several in flight per broker
//! and answered in order (module `markers`).
//!
//! # Ordering
//!
//! As in Kafka, one request per connection is in progress at a time: later
//! frames wait in the connection's queue, so responses leave in request
//! order even while a Fetch waits for data (a parked request). A produce
//! with acks=0 gets no response. A frame that cannot be decoded closes its
//! connection and no other; bytes after a complete request body are
//! ignored, as Kafka ignores them.
//!
//! # What the broker does, and what it leaves to others
//!
//! The broker owns connections, their queues and what each waits for
//! (module `conn`), the timers, and the state below it, which it lends to
//! `api::dispatch` one part at a time. Every request goes through that one
//! call; what comes back says what to send, whether to park a Fetch
//! (indexed by the partitions it reads, so a produce wakes only the fetches
//! on the partitions it appended to), whether the group coordinator holds
//! the request, and which held requests it answered. Timers run retention
//! and the log cleaner (module `state`), the group coordinator's deadlines
//! (module `coordinator::group`) and the transaction coordinator's
//! (timeouts, markers to retry, ids to expire: module `coordinator::txn`),
//! and the deadlines of CreateTopics requests held in ZooKeeper mode.
//! At start, transactions a stop left prepared are finished before the
//! first request. The crate's docs draw the layers.
//!
//! For a metrics endpoint the broker keeps counters (records and bytes in
//! and out per topic, requests completed per API; `state::metrics`),
//! which the produce and fetch handlers and `respond` add to, and
//! computes gauges from its state when asked (module `gauges`): log
//! sizes, high watermarks, connections, parked requests, under-replicated
//! and offline partitions. It reads no clock for them: a driver that
//! times requests turns on [`Metrics::set_timing`] and pairs each request
//! it finished with the frame's arrival; a request log also turns on
//! [`Metrics::set_errors`], and `respond` then names each response's first
//! error code ([`crate::protocol::first_error()`]).
//!
//! # In a cluster
//!
//! With [`Config::zk_mode`] the broker is one of a cluster coordinated by
//! ZooKeeper, as Kafka 2.x ran. The driver does the ZooKeeper work
//! (registration, the controller's election) and tells the broker its
//! registration's epoch with [`Broker::handle_registered`]; the controller
//! reaches the broker over an ordinary connection with UpdateMetadata, from
//! which the broker learns the live brokers and the controller and lists
//! them in Metadata and DescribeCluster. LeaderAndIsr makes it leader or
//! follower of partitions; as a leader it serves its followers' fetches,
//! keeps their positions and the high watermark, and parks acks=all
//! produces until the high watermark passes them (or their timeout). As a
//! follower it copies the leader's log (module `coordinator::fetcher`,
//! driven as above): after every LeaderAndIsr, StopReplica and
//! UpdateMetadata the fetcher is brought in line with the partitions
//! hosted as follower, their leaders and epochs; a partition that becomes
//! leader or is stopped leaves its fetch session at once, and a follower
//! made leader starts its high watermark where it knew it as follower. A
//! leader's endpoint is the one UpdateMetadata gave for it, else the one
//! LeaderAndIsr's live leaders gave: until one did, no request goes to
//! it.
//!
//! Topics are created through ZooKeeper, as Kafka 2.x creates them: a
//! CreateTopics (on the controller) or a Metadata that auto-creates a
//! topic yields [`Output::CreateTopics`], each [`NewTopic`] with its id,
//! its replicas assigned over the live brokers and the configs the
//! request set. The driver writes `/config/topics/<name>` and
//! `/brokers/topics/<name>` and calls [`Broker::handle_topics_created`]
//! with each topic's outcome. The CreateTopics response is held until
//! then, and further until the controller's UpdateMetadata names a leader
//! for every partition, or the request's `timeout_ms` passes (module
//! `api::create_topics` has the details); the Metadata one is not (the new
//! topic is LEADER_NOT_AVAILABLE). The internal topics stay on the
//! broker's own controller for now. DeleteTopics on the controller yields
//! [`Output::DeleteTopics`] and is held the same way until this broker's
//! metadata drops the topics (module `api::delete_topics`).

mod asks;
mod auth;
mod conn;
mod creates;
mod faults;
mod gauges;
mod getters;
mod markers;
mod output;
mod replicas;
mod stored;
mod timer;
mod wake;
mod zk_security;

use std::collections::VecDeque;

use crate::collections::{Map, Set};

use bytes::Bytes;

use crate::api::txn::{carry_out, TxnParts};
use crate::api::{self, Answering, Creates, Handled, Input, Parked, Parts, Reply};
pub use crate::coordinator::controller::{ControllerAnswer, ControllerAsk};
use crate::coordinator::fetcher::{Fetcher, FetcherConfig};
use crate::coordinator::group::{GroupCoordinator, Settled};
use crate::coordinator::txn::TxnCoordinator;
use crate::protocol::header::response_frame;
use crate::protocol::{ApiKey, ResponseBody};
pub use crate::security::changes::{AclResource, AclUpdate, ScramUpdate, SecurityWrite};
use crate::state::brokers::Membership;
use crate::state::cleaner::{self, Cleaner};
use crate::state::cluster::{metadata_tp, Cluster};
use crate::state::epochs::Epochs;
use crate::state::fetch_sessions::FetchSessions;
use crate::state::ids::Ids;
use crate::state::producers::Producers;
use crate::state::retention;
use crate::state::security::SecurityImage;
use crate::state::telemetry::Telemetry;
use crate::storage::{Storage, TopicPartition};
pub use conn::PeerInfo;
use conn::{Conn, InFlight};
pub use faults::{ErrorFault, FaultError, Named, OBSERVED_MAX};
pub use gauges::{LogGauge, Purgatory};
pub use output::Output;
use timer::{TimerKind, Timers};

pub use crate::coordinator::group::{GroupConfig, GroupSummary};
pub use crate::coordinator::txn::TxnSummary;
pub use crate::state::assignment::{NewPartitions, NewTopic};
pub use crate::state::replication::IsrOutcome;
pub use crate::state::{
    Completed, Config, ConnId, Endpoint, Metrics, Now, TopicCounts, TxnConfig, METADATA_TOPIC,
    METADATA_TOPIC_ID, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC,
};

/// The broker state machine.
#[derive(Debug)]
pub struct Broker<S: Storage> {
    config: Config,
    storage: S,
    /// The metadata image: topics, partitions, their configs.
    cluster: Cluster,
    /// The live brokers and the controller (this broker alone until a
    /// controller says otherwise).
    members: Membership,
    ids: Ids,
    /// Client telemetry instances (KIP-714).
    telemetry: Telemetry,
    /// Producer ids, epochs and sequence numbers.
    producers: Producers,
    /// Each log's leader epoch history, read from its batches on demand.
    epochs: Epochs,
    /// Incremental fetch sessions (KIP-227).
    sessions: FetchSessions,
    /// The log cleaner's state (first dirty offsets).
    cleaner: Cleaner,
    /// Consumer groups and committed offsets.
    groups: GroupCoordinator,
    /// Transactional ids and their transactions.
    txns: TxnCoordinator,
    /// The follower's fetch sessions, one per leader (ZooKeeper mode).
    fetcher: Fetcher,
    conns: Map<ConnId, Conn>,
    /// Parked requests (fetches, acks=all produces) by the partitions
    /// they wait on.
    waiting: Map<TopicPartition, Set<ConnId>>,
    /// Counts the calls of `wake` that named partitions, and the count at
    /// each partition's latest (see `wake.rs`).
    append_seq: u64,
    last_append: Map<TopicPartition, u64>,
    outputs: VecDeque<Output>,
    timers: Timers,
    /// CreateTopics requests waiting for the driver's ZooKeeper writes and
    /// the controller's leaders (ZooKeeper mode).
    creates: Creates,
    /// The ACLs and SCRAM credentials.
    security: SecurityImage,
    /// Requests held for their ZooKeeper writes of ACLs or SCRAM
    /// credentials (`zk_security.rs`), by connection.
    zk_writes: Map<ConnId, api::ZkHeld>,
    /// Counters for the driver to expose (`state::metrics`).
    metrics: Metrics,
    /// Faults a test armed, and requests observed (`faults.rs`).
    faults: faults::Faults,
}

/// Why a broker could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError<E> {
    /// The storage failed.
    Storage(E),
}

impl<E: std::fmt::Display> std::fmt::Display for StartError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Storage(e) => write!(f, "storage: {e}"),
        }
    }
}

impl<E: std::error::Error> std::error::Error for StartError<E> {}

impl<S: Storage> Broker<S> {
    /// A broker over `storage`, rebuilding topics, configs, ACLs and SCRAM
    /// credentials from the metadata log it holds (an empty storage starts
    /// an empty cluster), then producers and groups from their logs.
    pub fn new(config: Config, mut storage: S, now: Now) -> Result<Self, StartError<S::Error>> {
        storage
            .create_log(&metadata_tp(), METADATA_TOPIC_ID)
            .map_err(StartError::Storage)?;
        let cluster = Cluster::replay(&storage, &config);
        // Every partition the metadata names has a log that knows its topic
        // id (a log found without one gets it; a missing one starts empty).
        for t in cluster.topics.values() {
            for p in 0..t.partitions.len() as i32 {
                storage
                    .create_log(&TopicPartition::new(t.name.as_str(), p), t.id)
                    .map_err(StartError::Storage)?;
            }
        }
        let producers = Producers::load(&storage, &cluster);
        let security = SecurityImage::replay(&storage);
        // Ids must not repeat those of earlier runs: mix in what the log holds.
        let mut ids = Ids::new(
            config.seed
                ^ (storage.end_offset(&metadata_tp()) as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        );
        ids.next_u64();
        let mut timers = Timers::default();
        timers.set(
            now + config.retention_check_interval_ms,
            TimerKind::Retention,
        );
        if config.log_cleaner_enable {
            timers.set(now + config.log_cleaner_backoff_ms, TimerKind::Cleaner);
        }
        timers.set(
            now + config.groups.offsets_retention_check_interval_ms,
            TimerKind::OffsetsRetention,
        );
        let mut groups = GroupCoordinator::new(config.groups.clone());
        if config.zk() {
            // Groups load when LeaderAndIsr makes this broker a leader of
            // their partition (`coordinator::group::owned`).
            groups.follow_leadership();
        } else {
            groups.load(&storage, now);
        }
        if let Some(at) = groups.next_deadline() {
            timers.set(at, TimerKind::Groups);
        }
        let mut txns = TxnCoordinator::new(config.transactions.clone());
        match config.zk() {
            true => txns.follow_leadership(), // `coordinator::txn::owned`
            false => txns.load(&storage),
        }
        let mut producers = producers;
        // Transactions a stop interrupted after PrepareCommit (or
        // PrepareAbort) get their markers now; Ongoing ones wait for their
        // timeout. What cannot be finished now is retried on the timer.
        for plan in txns.recover(now) {
            let mut p = TxnParts {
                storage: &mut storage,
                cluster: &cluster,
                producers: &mut producers,
                groups: &mut groups,
                txns: &mut txns,
            };
            let _ = carry_out(&mut p, plan, now, &mut Vec::new());
        }
        if let Some(at) = txns.next_deadline() {
            timers.set(at, TimerKind::Transactions);
        }
        if config.zk() {
            timers.set(now, TimerKind::Isr);
        }
        let fetcher = Fetcher::new(FetcherConfig {
            me: config.node_id,
            max_wait_ms: config.replica_fetch_wait_max_ms,
            min_bytes: 1,
            partition_max_bytes: config.replica_fetch_max_bytes,
            max_bytes: config.replica_fetch_response_max_bytes,
            backoff_ms: config.replica_fetch_backoff_ms,
        });
        Ok(Broker {
            fetcher,
            sessions: FetchSessions::new(config.fetch_session_cache_slots),
            members: Membership::new(&config),
            config,
            storage,
            cluster,
            ids,
            telemetry: Telemetry::default(),
            producers,
            epochs: Epochs::default(),
            cleaner: Cleaner::default(),
            groups,
            txns,
            conns: Map::new(),
            waiting: Map::new(),
            append_seq: 0,
            last_append: Map::new(),
            outputs: VecDeque::new(),
            timers,
            creates: Creates::default(),
            security,
            zk_writes: Map::new(),
            metrics: Metrics::default(),
            faults: faults::Faults::default(),
        })
    }

    // ------------------------------------------------------------ input

    /// A connection opened.
    pub fn handle_connect(&mut self, conn: ConnId, peer: PeerInfo, now: Now) {
        let _ = now;
        let auth = self.initial_auth(&peer.listener);
        self.conns.insert(conn, Conn::new(peer, auth));
    }

    /// One complete request frame arrived on `conn`, its 4-byte size prefix
    /// already removed.
    pub fn handle_request(&mut self, conn: ConnId, frame: Bytes, now: Now) {
        if !self.conns.contains_key(&conn) {
            // A frame on a connection never announced: accept it as new.
            self.handle_connect(conn, PeerInfo::default(), now);
        }
        self.observe_frame(conn, &frame);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back(frame);
        }
        self.pump(conn, now);
    }

    /// This broker registered in the cluster (ZooKeeper mode) and its
    /// registration's epoch is `broker_epoch` (the zxid that created its
    /// registration znode, Kafka's czxid; -1: unknown). The controller
    /// stamps its requests with the epoch of the registration it saw; from
    /// now on those stamped with an older one, meant for an earlier
    /// incarnation of this broker, are refused with STALE_BROKER_EPOCH.
    /// Call it after every (re)registration; until the first, the check is
    /// skipped.
    pub fn handle_registered(&mut self, broker_epoch: i64, now: Now) {
        let _ = now;
        self.members.set_broker_epoch(broker_epoch);
    }

    // In a cluster: `handle_topic_configs`, `handle_isr_written`,
    // `handle_replica_response` and `handle_replica_failure` are in
    // `replicas.rs`; `handle_topics_created` is in `creates.rs`.

    /// The connection closed: its queued and parked requests are dropped.
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Now) {
        let _ = now;
        if let Some(c) = self.conns.remove(&conn) {
            self.forget(conn, c.in_flight);
        }
    }

    /// Time passed: fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some(kind) = self.timers.pop_due(now) {
            match kind {
                TimerKind::Parked(conn) => self.resume(conn, now, true),
                TimerKind::Retention => {
                    retention::run(&mut self.storage, &self.cluster, now);
                    // Aborted transactions wholly below a log's new start
                    // leave the index with their segments.
                    let (storage, cluster) = (&self.storage, &self.cluster);
                    self.producers.trim_aborted(|(id, p)| {
                        let name = cluster.by_id.get(&id)?;
                        Some(storage.start_offset(&TopicPartition::new(name.as_str(), p)))
                    });
                    let next = now + self.config.retention_check_interval_ms.max(1);
                    self.timers.set(next, TimerKind::Retention);
                }
                TimerKind::Cleaner => {
                    let next = cleaner::run(
                        &mut self.storage,
                        &self.cluster,
                        &self.producers,
                        &mut self.cleaner,
                        now,
                    );
                    self.timers.set(next, TimerKind::Cleaner);
                }
                TimerKind::Groups => {
                    for d in self.groups.handle_timeout(now) {
                        let s = self.groups.write(d, &mut self.storage, now);
                        self.settled(s, now);
                    }
                    self.set_group_timer(self.groups.next_deadline());
                }
                TimerKind::Transactions => {
                    let mut appended = Vec::new();
                    for plan in self.txns.handle_timeout(now) {
                        let mut p = TxnParts {
                            storage: &mut self.storage,
                            cluster: &self.cluster,
                            producers: &mut self.producers,
                            groups: &mut self.groups,
                            txns: &mut self.txns,
                        };
                        // A failure is retried by the coordinator's own deadline.
                        let _ = carry_out(&mut p, plan, now, &mut appended);
                    }
                    self.set_txn_timer(now);
                    self.wake(&appended, now);
                }
                TimerKind::Isr => {
                    self.check_isr(now);
                    self.timers.set(now + self.isr_interval(), TimerKind::Isr);
                }
                TimerKind::Creates => {
                    for answer in self.creates.expire(now, &self.cluster) {
                        self.answer_create(answer, now);
                    }
                    self.set_create_timer();
                }
                TimerKind::Replicas => self.drive_replicas(now),
                TimerKind::OffsetsRetention => {
                    for d in self.groups.expire_offsets(now) {
                        let s = self.groups.write(d, &mut self.storage, now);
                        self.settled(s, now);
                    }
                    self.set_group_timer(self.groups.next_deadline());
                    let interval = self.config.groups.offsets_retention_check_interval_ms;
                    self.timers
                        .set(now + interval.max(1), TimerKind::OffsetsRetention);
                }
            }
        }
    }

    // ------------------------------------------------------------ output

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Broker::handle_timeout`] should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Now> {
        self.timers.next()
    }

    // ------------------------------------------------------------ internals

    /// Handles queued frames of `conn` until one waits or the queue empties.
    fn pump(&mut self, conn: ConnId, now: Now) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.in_flight.is_some() {
                return;
            }
            let Some(frame) = c.queue.pop_front() else {
                return;
            };
            if let auth::Gate::Dispatch = self.gate(conn, &frame, now) {
                if !self.intercept(conn, &frame) {
                    self.run(conn, Input::Frame(&frame), now);
                }
            }
        }
    }

    /// Tries a parked request of `conn` again (news on its partitions, or
    /// `expired`: its deadline passed), then goes on with the connection's
    /// queue.
    fn resume(&mut self, conn: ConnId, now: Now, expired: bool) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(InFlight::Parked(parked)) =
            c.in_flight.take_if(|f| matches!(f, InFlight::Parked(_)))
        else {
            return;
        };
        self.unpark(conn, &parked);
        self.run(conn, Input::Resume(parked, expired), now);
        self.pump(conn, now);
    }

    /// Gives an input to the API layer and carries out what it decided.
    fn run(&mut self, conn: ConnId, input: Input<'_>, now: Now) {
        let anonymous = crate::security::Principal::anonymous();
        let (peer_addr, principal, listener) =
            self.conns.get(&conn).map_or(("", &anonymous, ""), |c| {
                (c.peer.addr.as_str(), &c.principal, c.peer.listener.as_str())
            });
        let from = api::From {
            conn,
            peer_addr,
            principal,
            listener: if listener.is_empty() {
                &self.config.listener_name
            } else {
                listener
            },
        };
        let parts = Parts {
            config: &self.config,
            storage: &mut self.storage,
            cluster: &mut self.cluster,
            members: &mut self.members,
            producers: &mut self.producers,
            epochs: &mut self.epochs,
            sessions: &mut self.sessions,
            telemetry: &mut self.telemetry,
            ids: &mut self.ids,
            groups: &mut self.groups,
            txns: &mut self.txns,
            creates: &mut self.creates,
            security: &mut self.security,
            metrics: &mut self.metrics,
            append_faults: &mut self.faults.appends,
        };
        let Handled {
            request,
            reply,
            appended,
            answers,
            stored,
            group_deadline,
            create,
            metadata_updated,
            ask,
            delete,
            add,
            zk_write,
        } = api::dispatch(parts, from, now, input);
        if let Some(ask) = ask {
            self.outputs.push_back(Output::AskController { conn, ask });
        }
        self.hand_to_driver(create, add, delete);
        // Fetches waiting on what was appended are answered first, as the
        // append happened before this request's response.
        let seq = self.append_seq;
        self.wake(&appended, now);
        let key = request.map(|a| a.key);
        if let Err(reason) = self.finish(conn, request, reply) {
            self.close(conn, reason);
        }
        if let Some((write, held)) = zk_write {
            self.hold_security_write(conn, write, held);
        }
        self.catch_up(conn, seq, now);
        // The controller changed what this broker follows, or where
        // leaders are: the fetcher follows suit.
        if let Some(ApiKey::StopReplica | ApiKey::DeleteTopics) = key {
            self.epochs.retain_logs(&self.storage);
        }
        if let Some(ApiKey::LeaderAndIsr | ApiKey::StopReplica | ApiKey::UpdateMetadata) = key {
            self.promote_high_watermarks();
            self.fetcher.sync(&self.cluster.leadership.followed());
            self.drive_replicas(now);
        }
        self.answer_all(answers, stored, now);
        if let Some(at) = group_deadline {
            self.set_group_timer(at);
        }
        self.set_txn_timer(now);
        if metadata_updated {
            for answer in self.creates.check(&self.cluster) {
                self.answer_create(answer, now);
            }
        }
        self.set_create_timer();
    }

    /// Sends, parks or holds what a request's handler decided. `Err`
    /// closes the connection.
    fn finish(
        &mut self,
        conn: ConnId,
        request: Option<Answering>,
        reply: Reply,
    ) -> Result<(), String> {
        match reply {
            Reply::Response(body) => {
                let a = request.ok_or("a response without a request")?;
                self.respond(conn, a, body)
            }
            Reply::NoResponse => {
                if let Some(a) = request {
                    self.metrics.completed(conn, (a.metric, a.version), None, 0);
                }
                Ok(())
            }
            Reply::Close(reason) => Err(reason),
            Reply::Park(parked) => {
                if self.conns.contains_key(&conn) {
                    self.timers.set(parked.deadline(), TimerKind::Parked(conn));
                    for tp in parked.partitions() {
                        self.waiting.entry(tp).or_default().insert(conn);
                    }
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.in_flight = Some(InFlight::Parked(parked));
                    }
                }
                Ok(())
            }
            Reply::Hold => {
                let a = request.ok_or("a held request without a header")?;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.in_flight = Some(InFlight::Held(a));
                }
                Ok(())
            }
            Reply::Creating(id) => {
                let answering = request.ok_or("a held request without a header")?;
                match self.conns.get_mut(&conn) {
                    Some(c) => {
                        c.in_flight = Some(InFlight::Creating {
                            request: id,
                            answering,
                        })
                    }
                    None => self.creates.drop_request(id),
                }
                Ok(())
            }
        }
    }

    /// Answers a held request with what the coordinator decided, then goes
    /// on with the connection's queue. A connection that closed meanwhile
    /// is skipped.
    fn answer_held(&mut self, conn: ConnId, body: ResponseBody, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        // Only a held request takes the answer: a parked fetch stays.
        let Some(InFlight::Held(a)) = c.in_flight.take_if(|f| matches!(f, InFlight::Held(_)))
        else {
            return;
        };
        if let Err(reason) = self.respond(conn, a, body) {
            self.close(conn, reason);
            return;
        }
        self.pump(conn, now);
    }

    /// Delivers what a timer's group decision settled.
    fn settled(&mut self, s: Settled<()>, now: Now) {
        let written: Vec<_> = s.written.into_iter().map(|(tp, _)| tp).collect();
        self.wake(&written, now);
        for (held, body) in s.answers {
            self.answer_held(held, body, now);
        }
    }

    /// The group timer follows the coordinator's earliest deadline.
    fn set_group_timer(&mut self, at: Option<Now>) {
        match at {
            Some(at) => self.timers.set(at, TimerKind::Groups),
            None => self.timers.cancel(TimerKind::Groups),
        }
    }

    fn respond(&mut self, conn: ConnId, a: Answering, body: ResponseBody) -> Result<(), String> {
        let error = if self.metrics.wants_errors() {
            crate::api::served::first_error(&body)
        } else {
            None
        };
        let encode = |w: &mut _, v| crate::api::served::encode_response(&body, w, v);
        let frame = response_frame(a.correlation_id, a.key, a.version, encode).map_err(|e| {
            format!(
                "cannot encode {} v{} response: {e}",
                a.key.name(),
                a.version
            )
        })?;
        let chunks = frame.into_chunks();
        let bytes = chunks.iter().map(Bytes::len).sum();
        self.outputs.push_back(Output::Response { conn, chunks });
        self.metrics
            .completed(conn, (a.metric, a.version), error, bytes);
        Ok(())
    }

    fn close(&mut self, conn: ConnId, reason: String) {
        if let Some(c) = self.conns.remove(&conn) {
            self.forget(conn, c.in_flight);
            self.outputs.push_back(Output::Close { conn, reason });
        }
    }

    /// A connection is gone: whatever it waited for is forgotten (a
    /// request the group coordinator holds is answered into the void).
    fn forget(&mut self, conn: ConnId, in_flight: Option<InFlight>) {
        match in_flight {
            Some(InFlight::Parked(parked)) => self.unpark(conn, &parked),
            Some(InFlight::Creating { request, .. }) => {
                self.creates.drop_request(request);
                self.set_create_timer();
            }
            Some(InFlight::Held(_)) | None => {}
        }
    }

    /// Takes a parked request off its timer and its partitions.
    fn unpark(&mut self, conn: ConnId, parked: &Parked) {
        self.timers.cancel(TimerKind::Parked(conn));
        for tp in parked.partitions() {
            if let Some(set) = self.waiting.get_mut(&tp) {
                set.remove(&conn);
                if set.is_empty() {
                    self.waiting.remove(&tp);
                }
            }
        }
    }
}
