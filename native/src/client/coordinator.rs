//! Finding a group's coordinator with FindCoordinator.
//!
//! A broker answers COORDINATOR_NOT_AVAILABLE while the `__consumer_offsets`
//! partition of the group has no leader yet (Kafka creates that topic on
//! the first lookup) and COORDINATOR_LOAD_IN_PROGRESS while it loads the
//! group; both are retried with a short pause, as Kafka's clients do.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::{Client, Connection};

/// FindCoordinator's key type for a consumer group.
const GROUP_KEY: i8 = 0;

/// How long to keep retrying a coordinator that is not available yet.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(30);

/// Pause between retries.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Where a group's coordinator is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coordinator {
    /// The coordinator's node id.
    pub(crate) node_id: i32,
    /// `host:port`.
    pub(crate) addr: String,
}

/// Asks the bootstrap broker which broker coordinates `group`, retrying the
/// retriable errors for up to 30 s.
pub(crate) fn find(client: &mut Client, group: &str) -> anyhow::Result<Coordinator> {
    let deadline = Instant::now() + LOOKUP_PATIENCE;
    loop {
        let (code, message, found) = lookup(client.bootstrap(), group)?;
        match ErrorCode(code) {
            ErrorCode::NONE => return Ok(found),
            ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                if Instant::now() < deadline =>
            {
                sleep(RETRY_BACKOFF);
            }
            e => match message.filter(|m| !m.is_empty()) {
                Some(m) => bail!("finding the coordinator of group `{group}`: {e}: {m}"),
                None => bail!("finding the coordinator of group `{group}`: {e}"),
            },
        }
    }
}

/// Opens a connection to the coordinator of `group` (a separate one, even
/// when it is the bootstrap broker: JoinGroup and SyncGroup park on it).
pub(crate) fn connect(client: &mut Client, group: &str) -> anyhow::Result<Connection> {
    let c = find(client, group)?;
    Connection::open(&c.addr)
}

/// One FindCoordinator: the error code, its message, and the answer.
fn lookup(
    conn: &mut Connection,
    group: &str,
) -> anyhow::Result<(i16, Option<String>, Coordinator)> {
    let batched = conn.version(ApiKey::FindCoordinator)? >= 4;
    let req = FindCoordinatorRequest {
        key: if batched {
            ByteString::new()
        } else {
            ByteString::from(group)
        },
        key_type: GROUP_KEY,
        coordinator_keys: if batched {
            vec![ByteString::from(group)]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let ResponseBody::FindCoordinator(resp) = conn.send(RequestBody::FindCoordinator(req))? else {
        bail!("FindCoordinator answered with another API");
    };
    if !batched {
        let found = Coordinator {
            node_id: resp.node_id,
            addr: format!("{}:{}", resp.host, resp.port),
        };
        let message = resp.error_message.map(|m| m.to_string());
        return Ok((resp.error_code, message, found));
    }
    let Some(c) = resp.coordinators.into_iter().find(|c| c.key == group) else {
        bail!("FindCoordinator did not answer for group `{group}`");
    };
    let found = Coordinator {
        node_id: c.node_id,
        addr: format!("{}:{}", c.host, c.port),
    };
    Ok((c.error_code, c.error_message.map(|m| m.to_string()), found))
}
