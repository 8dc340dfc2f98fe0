//! [`GroupMember`]: a member of a classic consumer group, as Kafka's
//! consumers are one.
//!
//! # The member's life
//!
//! ```text
//!  FindCoordinator ─► JoinGroup ──MEMBER_ID_REQUIRED──► JoinGroup (with the id)
//!                        │
//!                        ▼ generation, leader, members (the leader sees them)
//!                     SyncGroup (the leader sends the range assignment)
//!                        │
//!                        ▼ this member's partitions
//!      ┌──────────► Stable: Heartbeat every interval, OffsetCommit after work
//!      │                 │
//!      │   REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
//!      └─── JoinGroup ◄──┘
//!                        │ exit
//!                        ▼
//!                    LeaveGroup
//! ```
//!
//! The member is blocking and single-threaded: the caller does its work
//! (Fetch, print) in short steps and calls [`GroupMember::heartbeat_if_due`]
//! between them, so the heartbeat interval must be longer than one step.
//! When a call says [`Status::Rejoin`], the caller commits what it has
//! finished (the generation is still valid while the group prepares a
//! rebalance) and calls [`GroupMember::rejoin`]. Coordinator moves and
//! connection failures are handled by looking the coordinator up again.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytestring::ByteString;
use spate_core::protocol::messages::heartbeat_request::HeartbeatRequest;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::join_group_response::JoinGroupResponse;
use spate_core::protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::messages::sync_group_request::{
    SyncGroupRequest, SyncGroupRequestAssignment,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::assignor::{self, Partitions, PROTOCOL_TYPE, RANGE};
use super::offsets;
use super::{coordinator, Client, Connection};

/// How long to keep trying to (re)join before giving up.
const JOIN_PATIENCE: Duration = Duration::from_secs(120);

/// Pause before retrying after a retriable error.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// What a member is configured with; the names are the Java consumer's.
#[derive(Debug, Clone)]
pub(crate) struct MemberConfig {
    /// `group.id`.
    pub(crate) group: String,
    /// The topics subscribed to.
    pub(crate) topics: Vec<String>,
    /// `session.timeout.ms`: how long the coordinator waits for a heartbeat.
    pub(crate) session_timeout_ms: i32,
    /// `max.poll.interval.ms`: how long a rebalance waits for members.
    pub(crate) rebalance_timeout_ms: i32,
    /// `heartbeat.interval.ms`.
    pub(crate) heartbeat_interval: Duration,
    /// `group.instance.id`: a static member keeps its partitions across
    /// restarts within the session timeout.
    pub(crate) instance_id: Option<String>,
}

/// What the group asks of the caller after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Status {
    /// The assignment stands.
    Stable,
    /// The group is rebalancing or this member was fenced: commit what is
    /// done, then [`GroupMember::rejoin`].
    Rejoin,
}

/// A joined member of a consumer group.
#[derive(Debug)]
pub(crate) struct GroupMember {
    /// The configuration.
    config: MemberConfig,
    /// The connection to the coordinator; `None` after a failure, until
    /// the coordinator is looked up again.
    coord: Option<Connection>,
    /// The id the coordinator gave this member (empty before the first join).
    member_id: String,
    /// The generation of the last completed join.
    generation: i32,
    /// Whether this member led the last rebalance.
    leader: bool,
    /// The partitions this member owns in that generation.
    assignment: Partitions,
    /// When the last heartbeat (or join) was answered.
    last_heartbeat: Instant,
}

impl GroupMember {
    /// Joins `config.group`: finds the coordinator, then JoinGroup and
    /// SyncGroup until the group is stable with this member in it.
    pub(crate) fn join(client: &mut Client, config: MemberConfig) -> anyhow::Result<GroupMember> {
        let mut member = GroupMember {
            config,
            coord: None,
            member_id: String::new(),
            generation: -1,
            leader: false,
            assignment: Partitions::new(),
            last_heartbeat: Instant::now(),
        };
        member.rejoin(client)?;
        Ok(member)
    }

    /// The partitions this member owns.
    pub(crate) fn assignment(&self) -> &Partitions {
        &self.assignment
    }

    /// The member id the coordinator gave.
    pub(crate) fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> i32 {
        self.generation
    }

    /// Whether this member computed the current assignment.
    pub(crate) fn is_leader(&self) -> bool {
        self.leader
    }

    /// JoinGroup then SyncGroup until both succeed in one generation.
    pub(crate) fn rejoin(&mut self, client: &mut Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + JOIN_PATIENCE;
        loop {
            if Instant::now() > deadline {
                bail!(
                    "could not join group `{}` within {} s",
                    self.config.group,
                    JOIN_PATIENCE.as_secs()
                );
            }
            match self.join_and_sync(client) {
                Ok(true) => {
                    self.last_heartbeat = Instant::now();
                    return Ok(());
                }
                Ok(false) => sleep(RETRY_BACKOFF),
                Err(e) => return Err(e),
            }
        }
    }

    /// One JoinGroup (two when the coordinator requires a member id) and
    /// one SyncGroup; false when the caller should try again.
    fn join_and_sync(&mut self, client: &mut Client) -> anyhow::Result<bool> {
        let owned = self.assignment.clone();
        let metadata = assignor::encode_subscription(&self.config.topics, &owned, self.generation);
        let req = JoinGroupRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.rebalance_timeout_ms,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            protocol_type: ByteString::from_static(PROTOCOL_TYPE),
            protocols: vec![JoinGroupRequestProtocol {
                name: ByteString::from_static(RANGE),
                metadata,
                ..Default::default()
            }],
            reason: None,
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::JoinGroup(req))? else {
            return Ok(false);
        };
        let ResponseBody::JoinGroup(join) = resp else {
            bail!("JoinGroup answered with another API");
        };
        match ErrorCode(join.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                // KIP-394: the coordinator names the member, which joins again
                // with that id.
                self.member_id = join.member_id.to_string();
                return Ok(false);
            }
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                return Ok(false);
            }
            e if self.coordinator_moved(e) => return Ok(false),
            ErrorCode::REBALANCE_IN_PROGRESS => return Ok(false),
            e => bail!("joining group `{}`: {e}", self.config.group),
        }
        self.member_id = join.member_id.to_string();
        self.generation = join.generation_id;
        self.leader = join.leader == join.member_id;
        let protocol = join.protocol_name.as_deref().unwrap_or(RANGE).to_string();
        if protocol != RANGE {
            bail!(
                "group `{}` chose protocol `{protocol}`, not range",
                self.config.group
            );
        }
        let assignments = if self.leader && !join.skip_assignment {
            self.assign(client, &join)?
        } else {
            Vec::new()
        };
        let req = SyncGroupRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            generation_id: self.generation,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            protocol_type: Some(ByteString::from_static(PROTOCOL_TYPE)),
            protocol_name: Some(ByteString::from(protocol.as_str())),
            assignments,
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::SyncGroup(req))? else {
            return Ok(false);
        };
        let ResponseBody::SyncGroup(sync) = resp else {
            bail!("SyncGroup answered with another API");
        };
        match ErrorCode(sync.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                return Ok(false);
            }
            ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION => return Ok(false),
            e if self.coordinator_moved(e) => return Ok(false),
            e => bail!("syncing group `{}`: {e}", self.config.group),
        }
        self.assignment = assignor::decode_assignment(&sync.assignment)?;
        Ok(true)
    }

    /// The leader's work: decode every member's subscription, look up the
    /// topics' partition counts, and assign ranges.
    fn assign(
        &self,
        client: &mut Client,
        join: &JoinGroupResponse,
    ) -> anyhow::Result<Vec<SyncGroupRequestAssignment>> {
        let mut subscriptions = BTreeMap::new();
        for m in &join.members {
            let sub = assignor::decode_subscription(&m.metadata)
                .with_context(|| format!("member {}'s subscription", m.member_id))?;
            let topics: Vec<String> = sub.topics.iter().map(ToString::to_string).collect();
            subscriptions.insert(m.member_id.to_string(), topics);
        }
        let mut wanted: Vec<&str> = subscriptions
            .values()
            .flatten()
            .map(String::as_str)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let meta = client.metadata(Some(&wanted))?;
        let counts: BTreeMap<String, i32> = meta
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| Some((t.name.as_deref()?.to_string(), t.partitions.len() as i32)))
            .collect();
        Ok(assignor::range_assign(&subscriptions, &counts)
            .into_iter()
            .map(|(member_id, parts)| SyncGroupRequestAssignment {
                member_id: ByteString::from(member_id),
                assignment: assignor::encode_assignment(&parts),
                ..Default::default()
            })
            .collect())
    }

    /// Sends a Heartbeat when the interval has passed since the last one.
    pub(crate) fn heartbeat_if_due(&mut self, client: &mut Client) -> anyhow::Result<Status> {
        if self.last_heartbeat.elapsed() < self.config.heartbeat_interval {
            return Ok(Status::Stable);
        }
        let req = HeartbeatRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            generation_id: self.generation,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::Heartbeat(req))? else {
            return Ok(Status::Rejoin);
        };
        let ResponseBody::Heartbeat(hb) = resp else {
            bail!("Heartbeat answered with another API");
        };
        self.status(hb.error_code, "heartbeat")
    }

    /// The committed offsets of `topic`'s `partitions` in this group.
    pub(crate) fn committed(
        &mut self,
        client: &mut Client,
        topic: &str,
        partitions: &[i32],
    ) -> anyhow::Result<BTreeMap<i32, i64>> {
        let wanted = Partitions::from([(topic.to_string(), partitions.to_vec())]);
        let deadline = Instant::now() + JOIN_PATIENCE;
        let group = self.config.group.clone();
        loop {
            let Some(conn) = self.coordinator(client)? else {
                if Instant::now() > deadline {
                    bail!("the coordinator of group `{group}` cannot be reached");
                }
                sleep(RETRY_BACKOFF);
                continue;
            };
            match offsets::committed(conn, &group, Some(&wanted), true) {
                Ok(Ok(found)) => {
                    return Ok(found
                        .into_iter()
                        .filter(|((t, _), _)| t == topic)
                        .map(|((_, p), c)| (p, c.offset))
                        .collect())
                }
                Ok(Err(code)) if Instant::now() < deadline => {
                    // UNSTABLE_OFFSET_COMMIT (a transaction holds the offset)
                    // and coordinator moves are waited out.
                    if !(self.coordinator_moved(code) || code == ErrorCode::UNSTABLE_OFFSET_COMMIT)
                    {
                        bail!(
                            "fetching the committed offsets of group `{}`: {code}",
                            self.config.group
                        );
                    }
                    sleep(RETRY_BACKOFF);
                }
                Ok(Err(code)) => {
                    bail!(
                        "fetching the committed offsets of group `{}`: {code}",
                        self.config.group
                    )
                }
                Err(e) => {
                    self.coord = None;
                    if Instant::now() > deadline {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Commits `offsets` (the next offset to read, by topic and partition)
    /// in this member's generation.
    pub(crate) fn commit(
        &mut self,
        client: &mut Client,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> anyhow::Result<Status> {
        if offsets.is_empty() {
            return Ok(Status::Stable);
        }
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((topic, partition), &offset) in offsets {
            topics
                .entry(topic.as_str())
                .or_default()
                .push(OffsetCommitRequestPartition {
                    partition_index: *partition,
                    committed_offset: offset,
                    committed_leader_epoch: -1,
                    commit_timestamp: -1,
                    committed_metadata: Some(ByteString::new()),
                    ..Default::default()
                });
        }
        let req = OffsetCommitRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            generation_id_or_member_epoch: self.generation,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            retention_time_ms: -1,
            topics: topics
                .into_iter()
                .map(|(name, partitions)| OffsetCommitRequestTopic {
                    name: ByteString::from(name),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::OffsetCommit(req))? else {
            return Ok(Status::Rejoin);
        };
        let ResponseBody::OffsetCommit(resp) = resp else {
            bail!("OffsetCommit answered with another API");
        };
        let mut status = Status::Stable;
        for t in &resp.topics {
            for p in &t.partitions {
                let what = format!("committing {}-{}", t.name, p.partition_index);
                if self.status(p.error_code, &what)? == Status::Rejoin {
                    status = Status::Rejoin;
                }
            }
        }
        Ok(status)
    }

    /// Leaves the group so that it rebalances now rather than after the
    /// session timeout. Errors are reported, not retried: the coordinator
    /// expires the member anyway.
    pub(crate) fn leave(&mut self, client: &mut Client) -> anyhow::Result<()> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let req = LeaveGroupRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            member_id: ByteString::from(self.member_id.as_str()),
            members: vec![MemberIdentity {
                member_id: ByteString::from(self.member_id.as_str()),
                group_instance_id: self.instance_id(),
                reason: Some(ByteString::from_static("the consumer is closing")),
                ..Default::default()
            }],
            ..Default::default()
        };
        let Some(conn) = self.coordinator(client)? else {
            bail!("no coordinator to leave group `{}` at", self.config.group);
        };
        let body = fit(
            RequestBody::LeaveGroup(req),
            conn.version(ApiKey::LeaveGroup)?,
        )?;
        let ResponseBody::LeaveGroup(resp) = conn.send(body)? else {
            bail!("LeaveGroup answered with another API");
        };
        let member_code = resp.members.first().map_or(0, |m| m.error_code);
        for code in [resp.error_code, member_code] {
            if code != 0 {
                bail!("leaving group `{}`: {}", self.config.group, ErrorCode(code));
            }
        }
        self.member_id.clear();
        Ok(())
    }

    /// What an error code in a Heartbeat or OffsetCommit answer asks for.
    fn status(&mut self, code: i16, what: &str) -> anyhow::Result<Status> {
        match ErrorCode(code) {
            ErrorCode::NONE => {
                self.last_heartbeat = Instant::now();
                Ok(Status::Stable)
            }
            ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION => Ok(Status::Rejoin),
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.generation = -1;
                Ok(Status::Rejoin)
            }
            e if self.coordinator_moved(e) => Ok(Status::Rejoin),
            e => bail!("{what} in group `{}`: {e}", self.config.group),
        }
    }

    /// Whether `code` says the coordinator is elsewhere or not ready; if
    /// so, forgets the connection so the next call looks it up again.
    fn coordinator_moved(&mut self, code: ErrorCode) -> bool {
        let moved = matches!(
            code,
            ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        );
        if moved {
            self.coord = None;
        }
        moved
    }

    /// The coordinator connection, looked up and opened when there is none;
    /// `None` when that failed (the caller retries).
    fn coordinator(&mut self, client: &mut Client) -> anyhow::Result<Option<&mut Connection>> {
        if self.coord.is_none() {
            // A lookup that still fails after its retries is an error; a
            // coordinator that does not accept the connection is retried.
            let found = coordinator::find(client, &self.config.group)?;
            let Ok(mut conn) = Connection::open(&found.addr) else {
                return Ok(None);
            };
            // JoinGroup waits up to the rebalance timeout, SyncGroup as
            // long for the leader.
            let parked = u64::try_from(self.config.rebalance_timeout_ms).unwrap_or(0);
            conn.set_read_timeout(Duration::from_millis(parked + 5_000))?;
            if !conn.supports(ApiKey::JoinGroup) {
                bail!(
                    "the coordinator at {} does not support JoinGroup",
                    conn.addr()
                );
            }
            self.coord = Some(conn);
        }
        Ok(self.coord.as_mut())
    }

    /// Sends `body` to the coordinator; `None` when the coordinator could
    /// not be reached (the connection is dropped and looked up next time).
    fn call(
        &mut self,
        client: &mut Client,
        body: RequestBody,
    ) -> anyhow::Result<Option<ResponseBody>> {
        let Some(conn) = self.coordinator(client)? else {
            return Ok(None);
        };
        let version = conn.version(body.api_key())?;
        let body = fit(body, version)?;
        match conn.send(body) {
            Ok(resp) => Ok(Some(resp)),
            Err(e) => {
                let addr = conn.addr().to_string();
                self.coord = None;
                eprintln!("warning: coordinator {addr}: {e:#}; looking it up again");
                Ok(None)
            }
        }
    }

    /// `group.instance.id` as the requests carry it.
    fn instance_id(&self) -> Option<ByteString> {
        self.config.instance_id.as_deref().map(ByteString::from)
    }
}

/// `body` with the fields that version `v` of its API lacks cleared (the
/// codec refuses to drop a set field silently). Static membership needs
/// JoinGroup v5, SyncGroup and Heartbeat v3, OffsetCommit v7 and
/// LeaveGroup v3, as in Kafka's client.
fn fit(body: RequestBody, v: i16) -> anyhow::Result<RequestBody> {
    let static_needs = |min: i16, id: &Option<ByteString>| {
        if v < min && id.is_some() {
            bail!(
                "static membership (group.instance.id) needs {} v{min}; the coordinator speaks v{v}",
                body.api_key().name()
            );
        }
        Ok(())
    };
    Ok(match body {
        RequestBody::JoinGroup(ref j) => {
            static_needs(5, &j.group_instance_id)?;
            let RequestBody::JoinGroup(mut j) = body else {
                unreachable!()
            };
            if v < 8 {
                j.reason = None;
            }
            RequestBody::JoinGroup(j)
        }
        RequestBody::SyncGroup(ref s) => {
            static_needs(3, &s.group_instance_id)?;
            let RequestBody::SyncGroup(mut s) = body else {
                unreachable!()
            };
            if v < 5 {
                s.protocol_type = None;
                s.protocol_name = None;
            }
            RequestBody::SyncGroup(s)
        }
        RequestBody::Heartbeat(ref h) => {
            static_needs(3, &h.group_instance_id)?;
            body
        }
        RequestBody::OffsetCommit(ref c) => {
            static_needs(7, &c.group_instance_id)?;
            body
        }
        RequestBody::LeaveGroup(mut l) => {
            if v < 3 {
                if let Some(m) = l.members.first() {
                    if m.group_instance_id.is_some() {
                        bail!("static membership needs LeaveGroup v3; the coordinator speaks v{v}");
                    }
                    l.member_id = m.member_id.clone();
                }
                l.members.clear();
            } else {
                l.member_id = ByteString::new();
                if v < 5 {
                    for m in &mut l.members {
                        m.reason = None;
                    }
                }
            }
            RequestBody::LeaveGroup(l)
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use spate_core::protocol::header::{decode_request, encode_response};
    use spate_core::protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
    use spate_core::protocol::messages::find_coordinator_response::{
        Coordinator, FindCoordinatorResponse,
    };
    use spate_core::protocol::messages::heartbeat_response::HeartbeatResponse;
    use spate_core::protocol::messages::join_group_response::JoinGroupResponseMember;
    use spate_core::protocol::messages::leave_group_response::{
        LeaveGroupResponse, MemberResponse,
    };
    use spate_core::protocol::messages::metadata_response::{
        MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use spate_core::protocol::messages::sync_group_response::SyncGroupResponse;

    use super::*;
    use crate::client::conn::client_range;
    use crate::client::ConnArgs;

    /// What the scripted broker answers: given every request it got so far
    /// (ApiVersions excluded) and the new one, the response body.
    type Script = dyn FnMut(&[RequestBody], &RequestBody) -> ResponseBody + Send;

    /// The newest versions of a broker from before KIP-394 and batched
    /// coordinator lookups (about Kafka 2.1).
    fn old_broker(k: ApiKey) -> i16 {
        match k {
            ApiKey::FindCoordinator => 2,
            ApiKey::JoinGroup => 3,
            ApiKey::SyncGroup | ApiKey::Heartbeat | ApiKey::LeaveGroup => 2,
            ApiKey::OffsetCommit | ApiKey::OffsetFetch => 4,
            _ => i16::MAX,
        }
    }

    /// A broker on a real socket that answers ApiVersions with the
    /// client's own ranges (capped by `cap`) and everything else from
    /// `script`; returns its address and the requests it received.
    fn scripted(
        cap: fn(ApiKey) -> i16,
        script: Box<Script>,
    ) -> (String, Arc<Mutex<Vec<RequestBody>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let (seen, script) = (Arc::clone(&log), Arc::clone(&script));
                std::thread::spawn(move || serve(stream.unwrap(), cap, &seen, &script));
            }
        });
        (addr, seen)
    }

    fn serve(
        mut s: TcpStream,
        cap: fn(ApiKey) -> i16,
        seen: &Mutex<Vec<RequestBody>>,
        script: &Mutex<Box<Script>>,
    ) {
        loop {
            let mut size = [0u8; 4];
            if s.read_exact(&mut size).is_err() {
                return;
            }
            let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
            s.read_exact(&mut frame).unwrap();
            let (header, body) = decode_request(&Bytes::from(frame)).unwrap();
            let resp = if let RequestBody::ApiVersions(_) = body {
                ResponseBody::ApiVersions(ApiVersionsResponse {
                    api_keys: ApiKey::ALL
                        .iter()
                        .filter_map(|&k| {
                            let (_, hi) = client_range(k)?;
                            Some(ApiVersion {
                                api_key: k as i16,
                                min_version: 0,
                                max_version: hi.min(cap(k)),
                                ..Default::default()
                            })
                        })
                        .collect(),
                    ..Default::default()
                })
            } else {
                let mut seen = seen.lock().unwrap();
                let resp = (script.lock().unwrap())(&seen, &body);
                seen.push(body);
                resp
            };
            let out = encode_response(header.correlation_id, &resp, header.request_api_version);
            s.write_all(&out.unwrap()).unwrap();
        }
    }

    fn metadata(addr: &str) -> ResponseBody {
        let (host, port) = addr.rsplit_once(':').unwrap();
        ResponseBody::Metadata(MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: 1,
                host: host.into(),
                port: port.parse().unwrap(),
                ..Default::default()
            }],
            topics: vec![MetadataResponseTopic {
                name: Some("t".into()),
                partitions: (0..4)
                    .map(|p| MetadataResponsePartition {
                        partition_index: p,
                        leader_id: 1,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    /// The whole life against a scripted coordinator: MEMBER_ID_REQUIRED,
    /// leading (range over two members' subscriptions), a heartbeat that
    /// says REBALANCE_IN_PROGRESS, a commit, and leaving; at the newest
    /// versions and at an old broker's.
    #[test]
    fn joins_leads_follows_a_rebalance_commits_and_leaves() {
        life(|_| i16::MAX, true);
        life(old_broker, false);
    }

    fn life(cap: fn(ApiKey) -> i16, member_id_required: bool) {
        let me = Arc::new(Mutex::new(String::new()));
        let addr_slot = Arc::clone(&me);
        let (addr, seen) = scripted(
            cap,
            Box::new(move |before, req| {
                let addr = addr_slot.lock().unwrap().clone();
                match req {
                    RequestBody::Metadata(_) => metadata(&addr),
                    RequestBody::FindCoordinator(f) => {
                        let (host, port) = addr.rsplit_once(':').unwrap();
                        let port = port.parse().unwrap();
                        ResponseBody::FindCoordinator(if f.coordinator_keys.is_empty() {
                            assert_eq!(f.key, "g");
                            FindCoordinatorResponse {
                                node_id: 1,
                                host: host.into(),
                                port,
                                ..Default::default()
                            }
                        } else {
                            FindCoordinatorResponse {
                                coordinators: vec![Coordinator {
                                    key: "g".into(),
                                    node_id: 1,
                                    host: host.into(),
                                    port,
                                    ..Default::default()
                                }],
                                ..Default::default()
                            }
                        })
                    }
                    RequestBody::JoinGroup(j) if j.member_id.is_empty() && member_id_required => {
                        ResponseBody::JoinGroup(JoinGroupResponse {
                            error_code: ErrorCode::MEMBER_ID_REQUIRED.0,
                            member_id: "m-1".into(),
                            ..Default::default()
                        })
                    }
                    RequestBody::JoinGroup(j) => {
                        let other =
                            assignor::encode_subscription(&["t".into()], &Partitions::new(), -1);
                        ResponseBody::JoinGroup(JoinGroupResponse {
                            generation_id: 5,
                            protocol_type: Some("consumer".into()),
                            protocol_name: Some("range".into()),
                            leader: "m-1".into(),
                            member_id: "m-1".into(),
                            members: vec![
                                JoinGroupResponseMember {
                                    member_id: "m-1".into(),
                                    metadata: j.protocols[0].metadata.clone(),
                                    ..Default::default()
                                },
                                JoinGroupResponseMember {
                                    member_id: "m-2".into(),
                                    metadata: other,
                                    ..Default::default()
                                },
                            ],
                            ..Default::default()
                        })
                    }
                    RequestBody::SyncGroup(s) => {
                        let mine = s
                            .assignments
                            .iter()
                            .find(|a| a.member_id == "m-1")
                            .map(|a| a.assignment.clone())
                            .unwrap_or_default();
                        ResponseBody::SyncGroup(SyncGroupResponse {
                            assignment: mine,
                            ..Default::default()
                        })
                    }
                    RequestBody::Heartbeat(_) => {
                        let first = !before
                            .iter()
                            .any(|r| matches!(r, RequestBody::Heartbeat(_)));
                        ResponseBody::Heartbeat(HeartbeatResponse {
                            error_code: if first {
                                ErrorCode::REBALANCE_IN_PROGRESS.0
                            } else {
                                0
                            },
                            ..Default::default()
                        })
                    }
                    RequestBody::OffsetCommit(c) => {
                        use spate_core::protocol::messages::offset_commit_response::*;
                        ResponseBody::OffsetCommit(OffsetCommitResponse {
                            topics: c
                                .topics
                                .iter()
                                .map(|t| OffsetCommitResponseTopic {
                                    name: t.name.clone(),
                                    partitions: t
                                        .partitions
                                        .iter()
                                        .map(|p| OffsetCommitResponsePartition {
                                            partition_index: p.partition_index,
                                            ..Default::default()
                                        })
                                        .collect(),
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })
                    }
                    RequestBody::LeaveGroup(l) => ResponseBody::LeaveGroup(LeaveGroupResponse {
                        members: l
                            .members
                            .iter()
                            .map(|m| MemberResponse {
                                member_id: m.member_id.clone(),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }),
                    other => panic!("unexpected request {other:?}"),
                }
            }),
        );
        *me.lock().unwrap() = addr.clone();
        let mut client = Client::connect(&ConnArgs { brokers: addr }).unwrap();
        let config = MemberConfig {
            group: "g".into(),
            topics: vec!["t".into()],
            session_timeout_ms: 6000,
            rebalance_timeout_ms: 10_000,
            heartbeat_interval: Duration::ZERO,
            instance_id: None,
        };
        let mut m = GroupMember::join(&mut client, config).unwrap();
        assert_eq!(m.member_id(), "m-1");
        assert_eq!(m.generation(), 5);
        assert!(m.is_leader());
        // Range over two members and four partitions: the first two are ours.
        assert_eq!(
            m.assignment(),
            &Partitions::from([("t".into(), vec![0, 1])])
        );
        assert_eq!(m.heartbeat_if_due(&mut client).unwrap(), Status::Rejoin);
        m.rejoin(&mut client).unwrap();
        assert_eq!(m.heartbeat_if_due(&mut client).unwrap(), Status::Stable);
        let done = BTreeMap::from([(("t".to_string(), 1), 42)]);
        assert_eq!(m.commit(&mut client, &done).unwrap(), Status::Stable);
        m.leave(&mut client).unwrap();
        let seen = seen.lock().unwrap();
        let joins: Vec<&JoinGroupRequest> = seen
            .iter()
            .filter_map(|r| match r {
                RequestBody::JoinGroup(j) => Some(j),
                _ => None,
            })
            .collect();
        // Empty id, then the id handed out, then the rejoin keeps it.
        let ids: Vec<&str> = joins.iter().map(|j| &*j.member_id).collect();
        if member_id_required {
            assert_eq!(ids, ["", "m-1", "m-1"]);
        } else {
            assert_eq!(ids, ["", "m-1"]);
        }
        let last = joins.last().unwrap();
        let rejoin = assignor::decode_subscription(&last.protocols[0].metadata).unwrap();
        assert_eq!(rejoin.owned_partitions[0].partitions.to_vec(), vec![0, 1]);
        let commit = seen.iter().find_map(|r| match r {
            RequestBody::OffsetCommit(c) => Some(c),
            _ => None,
        });
        let commit = commit.expect("a commit");
        assert_eq!(commit.generation_id_or_member_epoch, 5);
        assert_eq!(commit.member_id, "m-1");
        assert_eq!(commit.topics[0].partitions[0].committed_offset, 42);
        assert!(matches!(seen.last(), Some(RequestBody::LeaveGroup(_))));
    }
}
