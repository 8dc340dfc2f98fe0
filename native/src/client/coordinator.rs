//! Finding a group's or a transactional id's coordinator with
//! FindCoordinator.
//!
//! A broker answers COORDINATOR_NOT_AVAILABLE while the `__consumer_offsets`
//! (or `__transaction_state`) partition of the key has no leader yet (Kafka
//! creates that topic on the first lookup) and COORDINATOR_LOAD_IN_PROGRESS
//! while it loads it; both are retried with a short pause, as Kafka's
//! clients do.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::{Client, Connection};

/// What a coordinator is looked up for: FindCoordinator's key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// A consumer group (key type 0).
    Group,
    /// A transactional id (key type 1, FindCoordinator v1 and later).
    Transaction,
}

impl KeyType {
    /// The wire value.
    fn code(self) -> i8 {
        match self {
            KeyType::Group => 0,
            KeyType::Transaction => 1,
        }
    }

    /// How errors name a key of this type.
    fn noun(self) -> &'static str {
        match self {
            KeyType::Group => "group",
            KeyType::Transaction => "transactional id",
        }
    }
}

/// How long to keep retrying a coordinator that is not available yet.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(30);

/// Pause between retries.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Where a group's or a transactional id's coordinator is.
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
    find_for(client, KeyType::Group, group)
}

/// Asks the bootstrap broker which broker coordinates `key` (a group or a
/// transactional id), retrying the retriable errors for up to 30 s.
pub(crate) fn find_for(
    client: &mut Client,
    key_type: KeyType,
    key: &str,
) -> anyhow::Result<Coordinator> {
    let deadline = Instant::now() + LOOKUP_PATIENCE;
    let noun = key_type.noun();
    loop {
        let (code, message, found) = lookup(client.bootstrap(), key_type, key)?;
        match ErrorCode(code) {
            ErrorCode::NONE => return Ok(found),
            ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                if Instant::now() < deadline =>
            {
                sleep(RETRY_BACKOFF);
            }
            e => match message.filter(|m| !m.is_empty()) {
                Some(m) => bail!("finding the coordinator of {noun} `{key}`: {e}: {m}"),
                None => bail!("finding the coordinator of {noun} `{key}`: {e}"),
            },
        }
    }
}

/// Opens a connection to the coordinator of `group` (a separate one, even
/// when it is the bootstrap broker: JoinGroup and SyncGroup park on it).
pub(crate) fn connect(client: &mut Client, group: &str) -> anyhow::Result<Connection> {
    let c = find(client, group)?;
    client.open(&c.addr)
}

/// One FindCoordinator: the error code, its message, and the answer.
fn lookup(
    conn: &mut Connection,
    key_type: KeyType,
    key: &str,
) -> anyhow::Result<(i16, Option<String>, Coordinator)> {
    let version = conn.version(ApiKey::FindCoordinator)?;
    if key_type != KeyType::Group && version < 1 {
        bail!(
            "the broker at {} cannot find a {} coordinator (FindCoordinator v1)",
            conn.addr(),
            key_type.noun()
        );
    }
    let batched = version >= 4;
    let req = FindCoordinatorRequest {
        key: if batched {
            ByteString::new()
        } else {
            ByteString::from(key)
        },
        key_type: key_type.code(),
        coordinator_keys: if batched {
            vec![ByteString::from(key)]
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
    let Some(c) = resp.coordinators.into_iter().find(|c| c.key == key) else {
        bail!(
            "FindCoordinator did not answer for {} `{key}`",
            key_type.noun()
        );
    };
    let found = Coordinator {
        node_id: c.node_id,
        addr: format!("{}:{}", c.host, c.port),
    };
    Ok((c.error_code, c.error_message.map(|m| m.to_string()), found))
}
