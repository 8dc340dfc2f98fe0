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
//!
//! Joining (JoinGroup, then SyncGroup with the leader's assignment) is in
//! `join.rs`, committed offsets and commits in `commit.rs`, and the fitting
//! of requests to the coordinator's API versions in `versions.rs`.

mod commit;
mod join;
mod versions;

#[cfg(test)]
mod tests;

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::messages::heartbeat_request::HeartbeatRequest;
use spate_core::protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::assignor::Partitions;
use super::{coordinator, Client, Connection};
use versions::fit;

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
            let Ok(mut conn) = client.open(&found.addr) else {
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
