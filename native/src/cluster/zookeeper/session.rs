//! The ZooKeeper session underneath [`ZooKeeper`](super::ZooKeeper): the
//! `zookeeper.*` settings, opening a session (with its chroot and Kafka's
//! persistent paths), retrying a request across a lost connection, and the
//! client's errors in the engine's terms.

use std::time::Duration;

use tracing::{debug, info};
use zookeeper_client as zk;

use super::super::engine::EngineError;
use super::super::znodes;

/// `zookeeper.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZkConfig {
    /// `zookeeper.connect`: `host:port[,host:port...][/chroot]`.
    pub connect: String,
    /// `zookeeper.session.timeout.ms`.
    pub session_timeout: Duration,
    /// `zookeeper.connection.timeout.ms`: how long to wait for a session
    /// at startup.
    pub connection_timeout: Duration,
}

impl ZkConfig {
    /// Kafka's defaults: an 18 s session, and as long to connect.
    pub(crate) fn new(connect: String) -> ZkConfig {
        ZkConfig {
            connect,
            session_timeout: Duration::from_millis(18_000),
            connection_timeout: Duration::from_millis(18_000),
        }
    }

    /// The hosts, and the chroot if one is given (`/` is none).
    pub(super) fn split(&self) -> Result<(&str, Option<&str>), EngineError> {
        let (hosts, chroot) = match self.connect.find('/') {
            Some(i) => (&self.connect[..i], Some(&self.connect[i..])),
            None => (self.connect.as_str(), None),
        };
        if hosts.trim().is_empty() {
            return Err(EngineError::Unreachable(format!(
                "zookeeper.connect `{}` names no host",
                self.connect
            )));
        }
        let chroot = chroot.filter(|c| *c != "/");
        if let Some(c) = chroot {
            if c.ends_with('/') || c.contains("//") {
                return Err(EngineError::Unreachable(format!(
                    "zookeeper.connect `{}`: `{c}` is not a valid chroot path",
                    self.connect
                )));
            }
        }
        Ok((hosts, chroot))
    }
}

pub(super) fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

pub(super) fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

impl From<zk::Error> for EngineError {
    fn from(e: zk::Error) -> EngineError {
        match e {
            zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::SessionMoved => {
                EngineError::SessionLost
            }
            zk::Error::ConnectionLoss => EngineError::ConnectionLoss,
            other => EngineError::Other(format!("ZooKeeper: {other}")),
        }
    }
}

impl From<zk::MultiWriteError> for EngineError {
    fn from(e: zk::MultiWriteError) -> EngineError {
        zk::Error::from(e).into()
    }
}

pub(super) fn malformed(key: &str, reason: String) -> EngineError {
    EngineError::Malformed {
        key: key.to_string(),
        reason,
    }
}

/// The error a failed multi-op reports (the failing operation's).
pub(super) fn multi_error(e: &zk::MultiWriteError) -> &zk::Error {
    match e {
        zk::MultiWriteError::RequestFailed { source } => source,
        zk::MultiWriteError::OperationFailed { source, .. } => source,
    }
}

/// Runs `op` again while it fails with a lost connection and the session
/// lives (the client holds requests until it has reconnected), as Kafka's
/// `retryRequestUntilConnected`. Callers make a repeated write safe.
pub(super) async fn retrying<T, E, F, Fut>(client: &zk::Client, op: F) -> Result<T, E>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: AsRef<zk::Error>,
{
    loop {
        match op().await {
            Err(e)
                if *e.as_ref() == zk::Error::ConnectionLoss && !client.state().is_terminated() =>
            {
                debug!("ZooKeeper connection lost mid-request; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            r => return r,
        }
    }
}

/// Lets [`retrying`] see the ZooKeeper error of either error type.
pub(super) struct Zk<E>(pub(super) E);

impl AsRef<zk::Error> for Zk<zk::Error> {
    fn as_ref(&self) -> &zk::Error {
        &self.0
    }
}

impl AsRef<zk::Error> for Zk<zk::MultiWriteError> {
    fn as_ref(&self) -> &zk::Error {
        multi_error(&self.0)
    }
}

/// Opens a session rooted at the configured chroot (created when
/// missing); with `layout`, also creates the persistent paths.
pub(super) async fn open(config: &ZkConfig, layout: bool) -> Result<zk::Client, EngineError> {
    let (hosts, chroot) = config.split()?;
    let mut connector = zk::Client::connector();
    connector.session_timeout(config.session_timeout);
    let connecting = connector.connect(hosts);
    let waited = config.connection_timeout.min(config.session_timeout);
    let mut client = match tokio::time::timeout(config.connection_timeout, connecting).await {
        Ok(Ok(c)) => c,
        // The client gives up after a session timeout of trying.
        Err(_) | Ok(Err(zk::Error::Timeout)) => {
            return Err(EngineError::Unreachable(format!(
                "no session with ZooKeeper at {hosts} within {} ms",
                waited.as_millis()
            )));
        }
        Ok(Err(e)) => {
            return Err(EngineError::Unreachable(format!(
                "ZooKeeper at {hosts}: {e}"
            )));
        }
    };
    if let Some(root) = chroot {
        if client.check_stat(root).await?.is_none() {
            client.mkdir(root, &persistent()).await?;
            info!(chroot = root, "created the ZooKeeper chroot");
        }
        client = client.chroot(root).map_err(|_| {
            EngineError::Unreachable(format!("`{root}` is not a valid ZooKeeper chroot"))
        })?;
    }
    if layout {
        for path in znodes::PERSISTENT_PATHS {
            client.mkdir(path, &persistent()).await?;
        }
    }
    info!(
        session = %client.session_id(),
        timeout_ms = client.session_timeout().as_millis() as u64,
        "ZooKeeper session open"
    );
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_string_splits_into_hosts_and_chroot() {
        let split = |s: &str| {
            ZkConfig::new(s.into())
                .split()
                .map(|(h, c)| (h.to_string(), c.map(str::to_string)))
        };
        assert_eq!(
            split("a:2181,b:2181/kafka/one"),
            Ok(("a:2181,b:2181".into(), Some("/kafka/one".into())))
        );
        assert_eq!(split("a:2181"), Ok(("a:2181".into(), None)));
        assert_eq!(split("a:2181/"), Ok(("a:2181".into(), None)));
        assert!(split("a:2181/kafka/").is_err());
        assert!(split("/kafka").is_err());
    }
}
