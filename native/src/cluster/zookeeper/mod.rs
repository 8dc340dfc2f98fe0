//! [`ZooKeeper`]: the [`Engine`] on Apache ZooKeeper, with Kafka 2.x's
//! znode layout (see [`znodes`]), on the `zookeeper-client`
//! crate.
//!
//! # What each call does
//!
//! ```text
//! connect          open a session to the hosts; create the chroot if missing
//!                  (from a session without one), then the persistent paths
//! cluster_id       read /cluster/id, or create it with the proposed id
//! register         multi { create /brokers/ids/N ephemeral; setData it, version 0 }
//!                  broker epoch = the znode's czxid
//! live_brokers     list /brokers/ids, read each (its czxid is that broker's epoch)
//! try_elect        read /controller; if absent read (or create "0") /controller_epoch,
//!                  then multi { create /controller ephemeral; setData /controller_epoch
//!                  epoch+1, at the version read }
//! write            multi { [check /controller_epoch at the fence's version;]
//!                  create KEY | setData KEY at version }
//! read_watched     read a key and set a one-shot data watch on it (one per
//!                  key), reported by next_event as DataChanged(key)
//! children         list a key's children (none when it is absent)
//! create_sequential, delete
//!                  a persistent sequential znode (ISR change notifications), and
//!                  deleting one
//! next_event       one-shot watches on the children of /brokers/ids, of
//!                  /brokers/topics, of /isr_change_notification, of
//!                  /admin/delete_topics and of /config/changes, and on
//!                  /controller, set again
//!                  each time they fire
//! ```
//!
//! The two multis are Kafka's (`KafkaZkClient.registerBroker` and
//! `registerControllerAndIncrementControllerEpoch`): a registration that
//! meets a znode left by this broker's own previous session deletes it and
//! tries again; one owned by any other session is refused, as Kafka
//! refuses a second broker with the same id.
//!
//! # Sessions
//!
//! The client reconnects by itself while the session lives (watches
//! included), and declares the session expired itself when it has not
//! reached ZooKeeper for 1.4 session timeouts (by then ZooKeeper has
//! expired it). When the session expires, [`Engine::next_event`]
//! reports [`Event::SessionExpired`], and on the next call opens a new
//! session and reports [`Event::SessionReestablished`]; the broker then
//! registers again and runs the election, as Kafka does.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use tokio::task::JoinSet;
use tracing::{debug, info, warn};
use zookeeper_client as zk;

use super::engine::{
    BrokerEpoch, BrokerId, BrokerInfo, ControllerEpoch, Election, Engine, EngineError, Event,
    Expect, Registered, Version, Versioned, Written,
};
use super::topic_znodes::{CONFIG_CHANGES, DELETE_TOPICS, ISR_CHANGES, TOPICS};
use super::znodes::{self, BROKER_IDS, CLUSTER_ID, CONTROLLER, CONTROLLER_EPOCH};
use crate::clock::now_ms;
pub(crate) use session::ZkConfig;
use session::{ephemeral, malformed, multi_error, open, persistent, retrying, Zk};

mod session;

/// The watches kept set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// Children of `/brokers/ids`.
    Brokers,
    /// `/controller` (created, changed or deleted).
    Controller,
    /// Children of `/brokers/topics`.
    Topics,
    /// Children of `/isr_change_notification`.
    IsrChanges,
    /// Children of `/admin/delete_topics`.
    Deletions,
    /// Children of `/config/changes`.
    ConfigChanges,
    /// Children of `/kafka-acl-changes` (`true`: of
    /// `/kafka-acl-extended-changes`).
    AclChanges(bool),
}

/// Every watch, as a new session sets them.
const WATCHES: [Watch; 8] = [
    Watch::ConfigChanges,
    Watch::AclChanges(false),
    Watch::AclChanges(true),
    Watch::Brokers,
    Watch::Controller,
    Watch::Topics,
    Watch::IsrChanges,
    Watch::Deletions,
];

/// A ZooKeeper session and the watches on it.
pub(crate) struct ZooKeeper {
    config: ZkConfig,
    /// Rooted at the chroot.
    client: zk::Client,
    state: zk::StateWatcher,
    /// Watches set and not yet fired, each in a task waiting for it.
    watches: JoinSet<(Watch, zk::WatchedEvent)>,
    /// Watches that fired (or could not be set) and must be set again.
    rearm: Vec<Watch>,
    /// The session is over; the next `next_event` opens another.
    expired: bool,
    /// The task opening the next session, once one is wanted. A task, so
    /// that `next_event` stays cancel-safe: the membership loop drops it
    /// whenever a command comes (an ISR write every 500 ms while the
    /// session is gone), and an open that takes longer than that would
    /// otherwise start over each time and never finish.
    reopening: Option<tokio::task::JoinHandle<zk::Client>>,
    /// The session that last registered this broker, to recognise its
    /// leftover registration after a new session (Kafka's KAFKA-7165).
    registered_by: Option<i64>,
    /// Keys whose data watch ([`Engine::read_watched`]) is set.
    data_watched: Arc<Mutex<BTreeSet<String>>>,
    /// Where fired data watches report their key.
    data_tx: mpsc::UnboundedSender<String>,
    data_rx: mpsc::UnboundedReceiver<String>,
}

impl ZooKeeper {
    fn new(config: ZkConfig, client: zk::Client) -> ZooKeeper {
        let (data_tx, data_rx) = mpsc::unbounded_channel();
        ZooKeeper {
            data_watched: Arc::default(),
            data_tx,
            data_rx,
            config,
            state: client.state_watcher(),
            client,
            watches: JoinSet::new(),
            rearm: WATCHES.to_vec(),
            expired: false,
            reopening: None,
            registered_by: None,
        }
    }

    fn session(&self) -> i64 {
        self.client.session_id().0
    }

    /// Sets `watch` and reads what it watches, as the event to report.
    async fn arm(&mut self, watch: Watch) -> Result<Event, EngineError> {
        match watch {
            Watch::Brokers => match self.client.get_and_watch_children(BROKER_IDS).await {
                Ok((children, _, watcher)) => {
                    self.watches
                        .spawn(async move { (watch, watcher.changed().await) });
                    Ok(Event::BrokersChanged(znodes::broker_ids(&children)))
                }
                Err(zk::Error::NoNode) => {
                    let (_, watcher) = self.client.check_and_watch_stat(BROKER_IDS).await?;
                    self.watches
                        .spawn(async move { (watch, watcher.changed().await) });
                    Ok(Event::BrokersChanged(BTreeSet::new()))
                }
                Err(e) => Err(e.into()),
            },
            Watch::Topics => {
                let (children, _, watcher) = self.client.get_and_watch_children(TOPICS).await?;
                self.watches
                    .spawn(async move { (watch, watcher.changed().await) });
                Ok(Event::TopicsChanged(children.into_iter().collect()))
            }
            Watch::IsrChanges => {
                let (children, _, watcher) =
                    self.client.get_and_watch_children(ISR_CHANGES).await?;
                self.watches
                    .spawn(async move { (watch, watcher.changed().await) });
                Ok(Event::IsrChangesNotified(children.into_iter().collect()))
            }
            Watch::ConfigChanges => {
                let (children, _, watcher) =
                    self.client.get_and_watch_children(CONFIG_CHANGES).await?;
                self.watches
                    .spawn(async move { (watch, watcher.changed().await) });
                Ok(Event::ConfigChanges(children.into_iter().collect()))
            }
            Watch::AclChanges(extended) => {
                let path = match extended {
                    false => super::security_znodes::LITERAL_CHANGES,
                    true => super::security_znodes::EXTENDED_CHANGES,
                };
                let (children, _, watcher) = self.client.get_and_watch_children(path).await?;
                self.watches
                    .spawn(async move { (watch, watcher.changed().await) });
                let names = children.into_iter().collect();
                Ok(Event::AclChanges { extended, names })
            }
            Watch::Deletions => {
                let (children, _, watcher) =
                    self.client.get_and_watch_children(DELETE_TOPICS).await?;
                self.watches
                    .spawn(async move { (watch, watcher.changed().await) });
                Ok(Event::DeletionsRequested(children.into_iter().collect()))
            }
            Watch::Controller => loop {
                match self.client.get_and_watch_data(CONTROLLER).await {
                    Ok((data, _, watcher)) => {
                        self.watches
                            .spawn(async move { (watch, watcher.changed().await) });
                        let id = znodes::decode_controller(&data)
                            .map_err(|why| malformed(CONTROLLER, why))?;
                        return Ok(Event::ControllerChanged(id));
                    }
                    Err(zk::Error::NoNode) => {}
                    Err(e) => return Err(e.into()),
                }
                // Absent: watch for its creation, unless it was created
                // in between (then read it again).
                if let (None, watcher) = self.client.check_and_watch_stat(CONTROLLER).await? {
                    self.watches
                        .spawn(async move { (watch, watcher.changed().await) });
                    return Ok(Event::ControllerGone);
                }
            },
        }
    }

    /// Forgets the dead session's watches; `next_event` opens another.
    fn lose_session(&mut self) {
        self.expired = true;
        self.watches.abort_all();
        self.rearm.clear();
        // The session's data watches die with it; keys are watched anew
        // when read again.
        if let Ok(mut set) = self.data_watched.lock() {
            set.clear();
        }
    }

    /// Opens a new session, retrying until ZooKeeper answers.
    async fn reopen(&mut self) {
        let config = self.config.clone();
        let task = self
            .reopening
            .get_or_insert_with(|| tokio::spawn(open_retrying(config)));
        // Awaiting the handle by reference keeps the task when this is
        // dropped.
        let opened = task.await;
        self.reopening = None;
        match opened {
            Ok(client) => {
                self.state = client.state_watcher();
                self.client = client;
                self.expired = false;
                self.rearm = WATCHES.to_vec();
            }
            // The task panicked or the runtime is shutting down: the next
            // call starts another.
            Err(e) => warn!(error = %e, "opening a ZooKeeper session failed; trying again"),
        }
    }

    /// Who claims `/controller`, and with which session.
    async fn claim(&self) -> Result<Option<(BrokerId, i64)>, EngineError> {
        let got = retrying(&self.client, || async {
            self.client.get_data(CONTROLLER).await.map_err(Zk)
        })
        .await;
        match got {
            Ok((data, stat)) => {
                let id =
                    znodes::decode_controller(&data).map_err(|why| malformed(CONTROLLER, why))?;
                Ok(Some((id, stat.ephemeral_owner)))
            }
            Err(Zk(zk::Error::NoNode)) => Ok(None),
            Err(Zk(e)) => Err(e.into()),
        }
    }

    /// The stored controller epoch, created as 0 when missing (Kafka's
    /// `maybeCreateControllerEpochZNode`).
    async fn epoch_or_zero(&self) -> Result<ControllerEpoch, EngineError> {
        if let Some(e) = self.controller_epoch().await? {
            return Ok(e);
        }
        let created = retrying(&self.client, || async {
            self.client
                .create(CONTROLLER_EPOCH, &znodes::encode_epoch(0), &persistent())
                .await
                .map_err(Zk)
        })
        .await;
        match created {
            Ok(_) => {
                info!("created {CONTROLLER_EPOCH} with epoch 0");
                Ok(ControllerEpoch {
                    epoch: 0,
                    version: Version(0),
                })
            }
            Err(Zk(zk::Error::NodeExists)) => self.controller_epoch().await?.ok_or_else(|| {
                malformed(CONTROLLER_EPOCH, "vanished right after it existed".into())
            }),
            Err(Zk(e)) => Err(e.into()),
        }
    }

    /// Registers `data` at `path` for this session.
    async fn create_ephemeral(
        &mut self,
        id: BrokerId,
        path: &str,
        data: &[u8],
    ) -> Result<BrokerEpoch, EngineError> {
        let session = self.session();
        // A create that meets a node not ours, then a read that finds it
        // gone, goes round again; a few rounds are plenty.
        for _ in 0..5 {
            let committed = retrying(&self.client, || {
                let mut multi = self.client.new_multi_writer();
                let added = multi
                    .add_create(path, &[], &ephemeral())
                    .and_then(|()| multi.add_set_data(path, data, Some(0)));
                async move {
                    added.map_err(|e| Zk(e.into()))?;
                    multi.commit().await.map_err(Zk)
                }
            })
            .await;
            match committed {
                Ok(results) => {
                    let stat = match results.into_iter().nth(1) {
                        Some(zk::MultiWriteResult::SetData { stat }) => stat,
                        other => {
                            return Err(EngineError::Other(format!(
                                "ZooKeeper answered a registration with {other:?}"
                            )))
                        }
                    };
                    self.registered_by = Some(session);
                    return Ok(BrokerEpoch(stat.czxid));
                }
                Err(Zk(e)) if *multi_error(&e) == zk::Error::NodeExists => {}
                Err(Zk(e)) => return Err(e.into()),
            }
            let stat = match self.client.get_data(path).await {
                Ok((_, stat)) => stat,
                Err(zk::Error::NoNode) => continue,
                Err(e) => return Err(e.into()),
            };
            let owner = stat.ephemeral_owner;
            if owner == session {
                // Our own create, answered after a lost connection.
                self.registered_by = Some(session);
                return Ok(BrokerEpoch(stat.czxid));
            }
            if Some(owner) == self.registered_by {
                info!(
                    path,
                    owner = format!("{owner:#x}"),
                    "the registration of this broker's previous session is still there; deleting it"
                );
                match self.client.delete(path, None).await {
                    Ok(()) | Err(zk::Error::NoNode) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            return Err(EngineError::BrokerIdTaken {
                id,
                detail: format!(
                    "error while creating ephemeral at {path}, node already exists and owner \
                     '{owner:#x}' does not match current session '{session:#x}'"
                ),
            });
        }
        Err(EngineError::Other(format!(
            "{path} kept appearing and vanishing while registering"
        )))
    }
}

impl Engine for ZooKeeper {
    type Config = ZkConfig;

    async fn connect(config: &ZkConfig) -> Result<ZooKeeper, EngineError> {
        let client = open(config, true).await?;
        let mut zk = ZooKeeper::new(config.clone(), client);
        // Set the watches now; what they read is the starting state, which
        // the broker reads for itself.
        for watch in std::mem::take(&mut zk.rearm) {
            if zk.arm(watch).await.is_err() {
                zk.rearm.push(watch);
            }
        }
        Ok(zk)
    }

    async fn cluster_id(&self, proposed: &str) -> Result<String, EngineError> {
        let decode =
            |data: &[u8]| znodes::decode_cluster_id(data).map_err(|why| malformed(CLUSTER_ID, why));
        match self.client.get_data(CLUSTER_ID).await {
            Ok((data, _)) => return decode(&data),
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(e.into()),
        }
        self.client.mkdir("/cluster", &persistent()).await?;
        match self
            .client
            .create(
                CLUSTER_ID,
                &znodes::encode_cluster_id(proposed),
                &persistent(),
            )
            .await
        {
            Ok(_) => {
                info!(cluster = proposed, "created {CLUSTER_ID}");
                Ok(proposed.to_string())
            }
            Err(zk::Error::NodeExists) => decode(&self.client.get_data(CLUSTER_ID).await?.0),
            Err(e) => Err(e.into()),
        }
    }

    async fn register(&mut self, broker: &BrokerInfo) -> Result<BrokerEpoch, EngineError> {
        let path = znodes::broker_path(broker.id);
        let data = znodes::encode_broker(broker, now_ms());
        self.create_ephemeral(broker.id, &path, &data).await
    }

    async fn live_brokers(&self) -> Result<Vec<Registered>, EngineError> {
        let children = self.client.list_children(BROKER_IDS).await?;
        let mut out = Vec::new();
        for id in znodes::broker_ids(&children) {
            let path = znodes::broker_path(id);
            match self.client.get_data(&path).await {
                Ok((data, stat)) => out.push(Registered {
                    info: znodes::decode_broker(id, &data).map_err(|why| malformed(&path, why))?,
                    // The broker epoch, as `register` reported it to the broker.
                    epoch: BrokerEpoch(stat.czxid),
                }),
                Err(zk::Error::NoNode) => {} // went away since the listing
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    async fn try_elect(&self, me: BrokerId) -> Result<Election, EngineError> {
        let session = self.session();
        if let Some((id, owner)) = self.claim().await? {
            if id == me && owner == session {
                // Ours already (a claim answered after a lost connection).
                let epoch = self.controller_epoch().await?;
                return epoch
                    .map(Election::Won)
                    .ok_or_else(|| malformed(CONTROLLER_EPOCH, "missing".into()));
            }
            return Ok(Election::Lost(Some(id)));
        }
        let current = self.epoch_or_zero().await?;
        let next = current.epoch + 1;
        let claim = znodes::encode_controller(me, now_ms());
        let expected = i32::try_from(current.version.0).unwrap_or(-1);
        let committed = retrying(&self.client, || {
            let mut multi = self.client.new_multi_writer();
            let added = multi
                .add_create(CONTROLLER, &claim, &ephemeral())
                .and_then(|()| {
                    multi.add_set_data(
                        CONTROLLER_EPOCH,
                        &znodes::encode_epoch(next),
                        Some(expected),
                    )
                });
            async move {
                added.map_err(|e| Zk(e.into()))?;
                multi.commit().await.map_err(Zk)
            }
        })
        .await;
        match committed {
            Ok(results) => match results.into_iter().nth(1) {
                Some(zk::MultiWriteResult::SetData { stat }) => {
                    Ok(Election::Won(ControllerEpoch {
                        epoch: next,
                        version: Version(i64::from(stat.version)),
                    }))
                }
                other => Err(EngineError::Other(format!(
                    "ZooKeeper answered an election with {other:?}"
                ))),
            },
            Err(Zk(e))
                if matches!(
                    multi_error(&e),
                    zk::Error::NodeExists | zk::Error::BadVersion
                ) =>
            {
                // Someone else won, or this claim went through before a
                // lost connection and its retry met it (Kafka's
                // checkControllerAndEpoch).
                match self.claim().await? {
                    Some((id, owner)) if id == me && owner == session => {
                        match self.controller_epoch().await? {
                            Some(e) if e.epoch == next => Ok(Election::Won(e)),
                            _ => Ok(Election::Lost(Some(id))),
                        }
                    }
                    other => Ok(Election::Lost(other.map(|(id, _)| id))),
                }
            }
            Err(Zk(e)) => Err(e.into()),
        }
    }

    async fn controller(&self) -> Result<Option<BrokerId>, EngineError> {
        Ok(self.claim().await?.map(|(id, _)| id))
    }

    async fn controller_epoch(&self) -> Result<Option<ControllerEpoch>, EngineError> {
        match self.client.get_data(CONTROLLER_EPOCH).await {
            Ok((data, stat)) => Ok(Some(ControllerEpoch {
                epoch: znodes::decode_epoch(&data)
                    .map_err(|why| malformed(CONTROLLER_EPOCH, why))?,
                version: Version(i64::from(stat.version)),
            })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read(&self, key: &str) -> Result<Option<Versioned>, EngineError> {
        match self.client.get_data(key).await {
            Ok((data, stat)) => Ok(Some(Versioned {
                data,
                version: Version(i64::from(stat.version)),
                created_ms: stat.ctime,
            })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_watched(&self, key: &str) -> Result<Option<Versioned>, EngineError> {
        let armed = self
            .data_watched
            .lock()
            .map_or(true, |set| set.contains(key));
        if armed {
            return self.read(key).await;
        }
        match self.client.get_and_watch_data(key).await {
            Ok((data, stat, watcher)) => {
                if let Ok(mut set) = self.data_watched.lock() {
                    set.insert(key.to_string());
                }
                let (set, tx, key) = (
                    self.data_watched.clone(),
                    self.data_tx.clone(),
                    key.to_string(),
                );
                tokio::spawn(async move {
                    let event = watcher.changed().await;
                    if let Ok(mut set) = set.lock() {
                        set.remove(&key);
                    }
                    if event.event_type != zk::EventType::Session {
                        let _ = tx.send(key);
                    }
                });
                Ok(Some(Versioned {
                    data,
                    version: Version(i64::from(stat.version)),
                    created_ms: stat.ctime,
                }))
            }
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn create_sequential(&self, prefix: &str, data: &[u8]) -> Result<(), EngineError> {
        let options = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        self.client.create(prefix, data, &options).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), EngineError> {
        match self.client.delete(key, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_at(&self, key: &str, at: Version) -> Result<Written, EngineError> {
        let Ok(v) = i32::try_from(at.0) else {
            return Ok(Written::Conflict);
        };
        match self.client.delete(key, Some(v)).await {
            Ok(()) => Ok(Written::Done(at)),
            Err(zk::Error::NoNode | zk::Error::BadVersion) => Ok(Written::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    async fn children(&self, key: &str) -> Result<Vec<String>, EngineError> {
        match self.client.list_children(key).await {
            Ok(children) => Ok(children),
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    async fn write(
        &self,
        key: &str,
        data: &[u8],
        expect: Expect,
        fence: Option<ControllerEpoch>,
    ) -> Result<Written, EngineError> {
        let version = |v: Version| i32::try_from(v.0).ok();
        let fence = match fence.map(|f| version(f.version)) {
            Some(None) => return Ok(Written::Conflict),
            f => f.flatten(),
        };
        let expected = match expect {
            Expect::Absent => None,
            Expect::Version(v) => match version(v) {
                Some(v) => Some(v),
                None => return Ok(Written::Conflict),
            },
        };
        if expected.is_none() {
            if let Some((parent, _)) = key.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
                self.client.mkdir(parent, &persistent()).await?;
            }
        }
        let mut multi = self.client.new_multi_writer();
        let added = (|| {
            if let Some(f) = fence {
                multi.add_check_version(CONTROLLER_EPOCH, f)?;
            }
            match expected {
                None => multi.add_create(key, data, &persistent()),
                Some(v) => multi.add_set_data(key, data, Some(v)),
            }
        })();
        added?;
        match multi.commit().await {
            Ok(results) => match results.last() {
                Some(zk::MultiWriteResult::SetData { stat }) => {
                    Ok(Written::Done(Version(i64::from(stat.version))))
                }
                Some(zk::MultiWriteResult::Create { .. }) => Ok(Written::Done(Version(0))),
                other => Err(EngineError::Other(format!(
                    "ZooKeeper answered a write with {other:?}"
                ))),
            },
            Err(e)
                if matches!(
                    multi_error(&e),
                    zk::Error::NodeExists | zk::Error::NoNode | zk::Error::BadVersion
                ) =>
            {
                Ok(Written::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn next_event(&mut self) -> Result<Event, EngineError> {
        loop {
            if self.expired {
                self.reopen().await;
                if self.expired {
                    continue;
                }
                return Ok(Event::SessionReestablished);
            }
            if let Some(&watch) = self.rearm.first() {
                match self.arm(watch).await {
                    Ok(event) => {
                        self.rearm.remove(0);
                        return Ok(event);
                    }
                    Err(EngineError::SessionLost) => {
                        self.lose_session();
                        return Ok(Event::SessionExpired);
                    }
                    Err(EngineError::ConnectionLoss) => {
                        // Wait for the client to reconnect (or give up).
                        tokio::select! {
                            _ = self.state.changed() => {}
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            tokio::select! {
                state = self.state.changed() => match state {
                    zk::SessionState::Expired | zk::SessionState::Closed => {
                        warn!(session = %self.client.session_id(), "ZooKeeper session {}", state.to_string().to_lowercase());
                        self.lose_session();
                        return Ok(Event::SessionExpired);
                    }
                    zk::SessionState::AuthFailed => {
                        self.lose_session();
                        return Err(EngineError::Other("ZooKeeper refused this broker's authentication".into()));
                    }
                    zk::SessionState::Disconnected => {
                        warn!("connection to ZooKeeper lost; reconnecting within the session");
                    }
                    other => info!(state = %other, "connected to ZooKeeper again"),
                },
                Some(key) = self.data_rx.recv() => return Ok(Event::DataChanged(key)),
                Some(fired) = self.watches.join_next() => {
                    if let Ok((watch, event)) = fired {
                        // Session changes come through the state watcher.
                        if event.event_type != zk::EventType::Session {
                            debug!(path = %event.path, kind = %event.event_type, "ZooKeeper watch fired");
                            self.rearm.push(watch);
                        }
                    }
                }
            }
        }
    }

    async fn close(mut self) {
        self.watches.abort_all();
        if let Some(t) = self.reopening.take() {
            t.abort();
        }
        let mut state = self.client.state_watcher();
        let session = self.client.session_id();
        drop(self.client);
        // Dropping the last handle sends CloseSession; wait for the answer
        // so that the ephemeral znodes are gone when the process exits.
        let closed = async {
            while !state.peek_state().is_terminated() {
                state.changed().await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(3), closed)
            .await
            .is_ok()
        {
            info!(session = %session, "ZooKeeper session closed");
        } else {
            warn!(session = %session, "ZooKeeper did not confirm closing the session");
        }
    }
}

/// Opens a new session, trying again with backoff until one opens.
async fn open_retrying(config: ZkConfig) -> zk::Client {
    let mut pause = Duration::from_millis(200);
    loop {
        match open(&config, false).await {
            Ok(client) => return client,
            Err(e) => {
                warn!(error = %e, "cannot open a new ZooKeeper session yet; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
