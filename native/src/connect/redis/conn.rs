//! A task's connection to Redis: opened when first needed, dropped when
//! it breaks, and opened again on the next call; and which failures are
//! worth a retry ([`TaskError::Retriable`]) and which end the task.

use std::time::Duration;

use anyhow::anyhow;
use redis::{Client, Connection, RedisError};

use crate::connect::task::TaskError;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a reply may take (beyond a command's own blocking time).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Server errors that go away by themselves: a server loading its data,
/// busy with a script, out of memory for now, or a replica.
const PASSING: [&str; 7] = [
    "LOADING",
    "BUSY",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "READONLY",
    "OOM",
];

/// A connection to one Redis server, by URI.
pub(crate) struct Conn {
    client: Client,
    uri: String,
    con: Option<Connection>,
}

impl Conn {
    /// A connection to `uri` (`redis://[user:password@]host:port[/db]`),
    /// not opened yet. A malformed URI is fatal.
    pub(crate) fn new(uri: &str) -> Result<Conn, TaskError> {
        let client =
            Client::open(uri).map_err(|e| TaskError::Fatal(anyhow!("redis.uri={uri}: {e}")))?;
        Ok(Conn {
            client,
            uri: uri.to_string(),
            con: None,
        })
    }

    /// The open connection, opening it first when there is none. Redis
    /// being unreachable is worth a retry.
    pub(crate) fn get(&mut self) -> Result<&mut Connection, TaskError> {
        if self.con.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(CONNECT_TIMEOUT)
                .and_then(|c| {
                    c.set_read_timeout(Some(REPLY_TIMEOUT))?;
                    c.set_write_timeout(Some(REPLY_TIMEOUT))?;
                    Ok(c)
                })
                .map_err(|e| {
                    TaskError::Retriable(anyhow!("connecting to Redis at {}: {e}", self.uri))
                })?;
            self.con = Some(con);
        }
        Ok(self.con.as_mut().expect("opened above"))
    }

    /// What `e`, met while `doing` something, means for the task; a
    /// broken connection is dropped, so the next [`Conn::get`] opens a
    /// new one.
    pub(crate) fn fail(&mut self, doing: &str, e: RedisError) -> TaskError {
        if broken(&e) {
            self.con = None;
        }
        classify(doing, &self.uri, &e)
    }
}

/// Whether `e` means the connection is no longer usable.
fn broken(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

/// [`TaskError::Retriable`] for an unreachable server or a passing server
/// condition, [`TaskError::Fatal`] for anything else Redis refuses.
pub(crate) fn classify(doing: &str, uri: &str, e: &RedisError) -> TaskError {
    let why = anyhow!("{doing} at {uri}: {e}");
    if broken(e) || e.code().is_some_and(|c| PASSING.contains(&c)) {
        TaskError::Retriable(why)
    } else {
        TaskError::Fatal(why)
    }
}

/// Whether a task error is worth a retry (for callers that keep state
/// about broken connections).
pub(crate) fn is_retriable(e: &TaskError) -> bool {
    matches!(e, TaskError::Retriable(_))
}
