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
//! - `poll_*` return output: [`Broker::poll_output`] the next response or
//!   close, [`Broker::poll_timeout`] the next moment something is due.
//! - getters take `&self` and change nothing.
//!
//! After every `handle_*` call, drain `poll_output` until it returns `None`,
//! then sleep until `poll_timeout` or the next input, and call
//! [`Broker::handle_timeout`] when the time comes. Spurious extra calls to
//! `handle_timeout` are no-ops.
//!
//! # Ordering
//!
//! As in Kafka, one request per connection is in progress at a time: later
//! frames wait in the connection's queue, so responses leave in request
//! order even while a Fetch waits for data (a parked request). A produce
//! with acks=0 gets no response. A frame that cannot be decoded closes its
//! connection and no other; bytes after a complete request body are
//! ignored, as Kafka ignores them.

mod cleaner;
mod cluster;
mod config;
pub(crate) mod producers;
pub(crate) mod sessions;
mod timer;
mod topics;

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

pub use cluster::{METADATA_TOPIC, METADATA_TOPIC_ID};
pub use config::Config;
pub(crate) use topics::{
    check_config, topic_default, valid_topic_name, MAX_PARTITIONS, TOPIC_CONFIGS,
};

pub(crate) use cluster::{for_each_batch, write_changes, Change, Cluster, Topic};
use timer::{TimerKind, Timers};

use crate::api::{self, Reply};
use crate::group;
use crate::protocol::header::{decode_request_header, encode_response_chunks, peek_request};
use crate::protocol::messages::request_header::RequestHeader;
use crate::protocol::{ApiKey, Reader, RequestBody, ResponseBody, Uuid};
use crate::storage::{Storage, TopicPartition};

/// Milliseconds since the Unix epoch, as the driver's clock says.
pub type Now = i64;

/// A connection, named by the driver.
pub type ConnId = u64;

/// What the driver knows about a connection's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address, for logs (`127.0.0.1:53122`).
    pub addr: String,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Write these chunks, in order, to the connection (one response frame,
    /// size prefix included).
    Response {
        /// The connection.
        conn: ConnId,
        /// The frame, in pieces (record data is not copied into a buffer).
        chunks: Vec<Bytes>,
    },
    /// Close the connection.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why, for the log.
        reason: String,
    },
}

/// A request that could not be answered yet, waiting for data or time.
#[derive(Debug)]
pub(crate) struct Parked {
    pub header: RequestHeader,
    pub key: ApiKey,
    pub body: RequestBody,
    pub deadline: Now,
}

/// A request the group coordinator answers later (JoinGroup, SyncGroup).
#[derive(Debug)]
struct Held {
    correlation_id: i32,
    key: ApiKey,
    version: i16,
}

#[derive(Debug, Default)]
struct Conn {
    peer: PeerInfo,
    queue: VecDeque<Bytes>,
    parked: Option<Parked>,
    held: Option<Held>,
}

impl Conn {
    /// Whether a request of this connection is in progress.
    fn busy(&self) -> bool {
        self.parked.is_some() || self.held.is_some()
    }
}

/// A deterministic generator for ids (splitmix64), seeded from [`Config::seed`].
#[derive(Debug, Clone)]
pub(crate) struct Ids(u64);

impl Ids {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fresh uuid that is neither zero nor Kafka's reserved "metadata topic" id.
    pub fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        if b == [0; 16] || b == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] {
            b[0] = 1;
        }
        Uuid(b)
    }
}

/// The broker state machine.
#[derive(Debug)]
pub struct Broker<S: Storage> {
    pub(crate) config: Config,
    pub(crate) storage: S,
    pub(crate) cluster: Cluster,
    pub(crate) ids: Ids,
    /// Client telemetry instances (KIP-714), for GetTelemetrySubscriptions and PushTelemetry.
    pub(crate) telemetry: api::get_telemetry_subscriptions::Telemetry,
    /// Producer ids, epochs and sequence numbers.
    pub(crate) producers: producers::Producers,
    /// Incremental fetch sessions (KIP-227).
    pub(crate) sessions: sessions::FetchSessions,
    /// The log cleaner's state (first dirty offsets).
    cleaner: cleaner::Cleaner,
    /// Consumer groups and committed offsets.
    pub(crate) groups: group::Coordinator,
    conns: BTreeMap<ConnId, Conn>,
    outputs: VecDeque<Output>,
    timers: Timers,
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
    /// A broker over `storage`, rebuilding topics and configs from the
    /// metadata log it holds (an empty storage starts an empty cluster).
    pub fn new(config: Config, mut storage: S, now: Now) -> Result<Self, StartError<S::Error>> {
        storage
            .create_log(&cluster::metadata_tp(), cluster::METADATA_TOPIC_ID)
            .map_err(StartError::Storage)?;
        let cluster = Cluster::replay(&storage);
        // Every partition the metadata names has a log that knows its topic
        // id (a log found without one gets it; a missing one starts empty).
        for t in cluster.topics.values() {
            for p in 0..t.partitions.len() as i32 {
                storage
                    .create_log(&TopicPartition::new(t.name.as_str(), p), t.id)
                    .map_err(StartError::Storage)?;
            }
        }
        let producers = producers::Producers::load(&storage, &cluster);
        // Ids must not repeat those of earlier runs: mix in what the log holds.
        let mut ids = Ids(config.seed
            ^ (storage.end_offset(&cluster::metadata_tp()) as u64)
                .wrapping_mul(0x2545_f491_4f6c_dd1d));
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
        let sessions = sessions::FetchSessions::new(config.fetch_session_cache_slots);
        let mut groups = group::Coordinator::new(config.groups.clone());
        groups.load(&storage, now);
        if let Some(at) = groups.next_deadline() {
            timers.set(at, TimerKind::Groups);
        }
        Ok(Broker {
            config,
            storage,
            cluster,
            ids,
            telemetry: Default::default(),
            producers,
            sessions,
            cleaner: Default::default(),
            groups,
            conns: BTreeMap::new(),
            outputs: VecDeque::new(),
            timers,
        })
    }

    // ------------------------------------------------------------ getters

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, mutably: for a driver that flushes or trims it. The
    /// broker assumes nobody else appends to the logs it serves.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Stops the broker and hands back its storage (to flush and close it).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Every topic with its id and partition count, internal ones included.
    pub fn topics(&self) -> Vec<(String, Uuid, i32)> {
        self.cluster
            .topics
            .values()
            .map(|t| (t.name.clone(), t.id, t.partitions.len() as i32))
            .collect()
    }

    /// Names of every topic, internal ones included.
    pub fn topic_names(&self) -> Vec<String> {
        self.cluster.topics.keys().cloned().collect()
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    // ------------------------------------------------------------ input

    /// A connection opened.
    pub fn handle_connect(&mut self, conn: ConnId, peer: PeerInfo, now: Now) {
        let _ = now;
        self.conns.insert(
            conn,
            Conn {
                peer,
                ..Conn::default()
            },
        );
    }

    /// One complete request frame arrived on `conn`, its 4-byte size prefix
    /// already removed.
    pub fn handle_request(&mut self, conn: ConnId, frame: Bytes, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            // A frame on a connection never announced: accept it as new.
            self.handle_connect(conn, PeerInfo::default(), now);
            return self.handle_request(conn, frame, now);
        };
        c.queue.push_back(frame);
        self.pump(conn, now);
    }

    /// The connection closed: its queued and parked requests are dropped.
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Now) {
        let _ = now;
        if let Some(c) = self.conns.remove(&conn) {
            if c.parked.is_some() {
                self.timers.cancel(TimerKind::Parked(conn));
            }
        }
    }

    /// Time passed: fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some(kind) = self.timers.pop_due(now) {
            match kind {
                TimerKind::Parked(conn) => self.retry_parked(conn, now, true),
                TimerKind::Retention => {
                    api::retention::run(self, now);
                    let next = now + self.config.retention_check_interval_ms.max(1);
                    self.timers.set(next, TimerKind::Retention);
                }
                TimerKind::Cleaner => {
                    let next = cleaner::run(self, now);
                    self.timers.set(next, TimerKind::Cleaner);
                }
                TimerKind::Groups => {
                    self.groups.tick(now);
                    self.settle_groups(now);
                }
                TimerKind::OffsetsRetention => {
                    self.groups.expire_offsets(now);
                    self.settle_groups(now);
                    let next = now
                        + self
                            .config
                            .groups
                            .offsets_retention_check_interval_ms
                            .max(1);
                    self.timers.set(next, TimerKind::OffsetsRetention);
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

    /// Handles queued frames of `conn` until one parks or the queue empties.
    fn pump(&mut self, conn: ConnId, now: Now) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.busy() {
                return;
            }
            let Some(frame) = c.queue.pop_front() else {
                return;
            };
            if let Err(reason) = self.handle_frame(conn, frame, now) {
                self.close(conn, reason);
                return;
            }
        }
    }

    fn close(&mut self, conn: ConnId, reason: String) {
        if self.conns.remove(&conn).is_some() {
            self.timers.cancel(TimerKind::Parked(conn));
            self.outputs.push_back(Output::Close { conn, reason });
        }
    }

    /// Decodes and answers one frame. `Err` closes the connection, as Kafka
    /// does for a request it cannot parse.
    fn handle_frame(&mut self, conn: ConnId, frame: Bytes, now: Now) -> Result<(), String> {
        let Some((raw_key, version)) = peek_request(&frame) else {
            return Err(format!(
                "frame of {} bytes is too short for a request header",
                frame.len()
            ));
        };
        if raw_key == ApiKey::ApiVersions as i16
            && !ApiKey::ApiVersions.versions().contains(version)
        {
            // Kafka answers an ApiVersions it cannot parse with
            // UNSUPPORTED_VERSION in a v0 body listing what it supports.
            let correlation_id = frame
                .get(4..8)
                .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let body = api::api_versions::unsupported();
            return self.respond(conn, correlation_id, ApiKey::ApiVersions, 0, body);
        }
        let mut r = Reader::new(&frame);
        let (key, header) =
            decode_request_header(&mut r).map_err(|e| format!("bad request header: {e}"))?;
        if !api::supported(key).contains(version) {
            return Err(format!("{} v{version} is not supported", key.name()));
        }
        // Bytes after the body are ignored, as Kafka's request parser
        // ignores them: librdkafka (2.12-2.16) sends three extra bytes after
        // an all-topics Metadata v13 request, and Kafka answers it.
        let body = RequestBody::decode(key, &mut r, version)
            .map_err(|e| format!("bad {} v{version} request: {e}", key.name()))?;
        self.run(conn, header, key, body, now, None)
    }

    /// Runs a decoded request; parks it or answers it.
    fn run(
        &mut self,
        conn: ConnId,
        header: RequestHeader,
        key: ApiKey,
        body: RequestBody,
        now: Now,
        parked: Option<(Now, bool)>,
    ) -> Result<(), String> {
        let ctx = api::Ctx {
            version: header.request_api_version,
            conn,
            client_id: header.client_id.clone().unwrap_or_default(),
            now,
            deadline: parked.map(|p| p.0),
            deadline_passed: parked.is_some_and(|p| p.1),
        };
        let reply = api::dispatch(self, &ctx, body);
        let result = self.finish(conn, header, key, reply);
        if !self.groups.ready.is_empty() || !self.groups.writes.is_empty() {
            self.settle_groups(now);
        } else if self.groups.timer_moved {
            self.set_group_timer();
        }
        result
    }

    /// Sends, parks or holds what a request's handler decided.
    fn finish(
        &mut self,
        conn: ConnId,
        header: RequestHeader,
        key: ApiKey,
        reply: Reply,
    ) -> Result<(), String> {
        match reply {
            Reply::Response(resp) => self.respond(
                conn,
                header.correlation_id,
                key,
                header.request_api_version,
                resp,
            ),
            Reply::NoResponse => Ok(()),
            Reply::Close(reason) => Err(reason),
            Reply::Park { body, deadline } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.parked = Some(Parked {
                        header,
                        key,
                        body,
                        deadline,
                    });
                    self.timers.set(deadline, TimerKind::Parked(conn));
                }
                Ok(())
            }
            Reply::Hold => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.held = Some(Held {
                        correlation_id: header.correlation_id,
                        key,
                        version: header.request_api_version,
                    });
                }
                Ok(())
            }
        }
    }

    /// Answers a held request with what the coordinator decided, then goes
    /// on with the connection's queue. A connection that closed meanwhile
    /// is skipped.
    pub(crate) fn answer_held(&mut self, w: group::Waiter, answer: group::Answer, now: Now) {
        let Some(h) = self.conns.get_mut(&w.conn).and_then(|c| c.held.take()) else {
            return;
        };
        let body = match answer {
            group::Answer::Join(j) => {
                ResponseBody::JoinGroup(api::join_group::response(h.version, j))
            }
            group::Answer::Sync(s) => {
                ResponseBody::SyncGroup(api::sync_group::response(h.version, s))
            }
        };
        if let Err(reason) = self.respond(w.conn, h.correlation_id, h.key, h.version, body) {
            self.close(w.conn, reason);
            return;
        }
        self.pump(w.conn, now);
    }

    /// Moves (or clears) the group coordinator's timer.
    pub(crate) fn set_groups_deadline(&mut self, at: Option<Now>) {
        match at {
            Some(at) => self.timers.set(at, TimerKind::Groups),
            None => self.timers.cancel(TimerKind::Groups),
        }
    }

    fn respond(
        &mut self,
        conn: ConnId,
        correlation_id: i32,
        key: ApiKey,
        version: i16,
        body: ResponseBody,
    ) -> Result<(), String> {
        let frame = encode_response_chunks(correlation_id, &body, version)
            .map_err(|e| format!("cannot encode {} v{version} response: {e}", key.name()))?;
        self.outputs.push_back(Output::Response {
            conn,
            chunks: frame.into_chunks(),
        });
        Ok(())
    }

    /// Runs a parked request again (data arrived, or its deadline passed).
    fn retry_parked(&mut self, conn: ConnId, now: Now, timed_out: bool) {
        let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.parked.take()) else {
            return;
        };
        self.timers.cancel(TimerKind::Parked(conn));
        let passed = timed_out || now >= p.deadline;
        if let Err(reason) = self.run(
            conn,
            p.header,
            p.key,
            p.body,
            now,
            Some((p.deadline, passed)),
        ) {
            self.close(conn, reason);
            return;
        }
        self.pump(conn, now);
    }

    /// New data was appended: parked requests that may now be satisfied run again.
    pub(crate) fn wake_parked(&mut self, now: Now) {
        let waiting: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.parked.is_some())
            .map(|(id, _)| *id)
            .collect();
        for conn in waiting {
            self.retry_parked(conn, now, false);
        }
    }

    /// The peer of a connection, for logs.
    pub fn peer(&self, conn: ConnId) -> Option<&PeerInfo> {
        self.conns.get(&conn).map(|c| &c.peer)
    }
}
