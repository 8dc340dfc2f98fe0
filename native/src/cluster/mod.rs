//! Brokers in a cluster, coordinated by Apache ZooKeeper as in Kafka 2.x:
//! membership and controller election, the controller deciding every
//! partition's leader and ISR and telling every broker, topics created
//! through ZooKeeper, and a leader's own ISR changes.
//!
//! With `zookeeper.connect` set, `spate serve`:
//!
//! 1. opens a ZooKeeper session ([`Engine::connect`]), creating the chroot
//!    and Kafka's persistent paths when missing;
//! 2. reads `/cluster/id`, or stores one ([`Engine::cluster_id`]): the
//!    data directory's own id when it has one, else a new one. A data
//!    directory whose `meta.properties` names another cluster is refused
//!    (Kafka's `InconsistentClusterIdException`);
//! 3. once it listens, registers itself at `/brokers/ids/<broker.id>`
//!    ([`Engine::register`]); a live broker with the same id makes it fail
//!    to start;
//! 4. runs the [`membership`] loop in its own task: the controller
//!    election, and registering again after a session expires. What the
//!    core's broker must know goes to the task that owns it as [`News`]:
//!    every registration's broker epoch (so it refuses requests meant for
//!    an earlier incarnation), the configs of every topic that appears
//!    under `/brokers/topics` (read from `/config/topics/<topic>`, and
//!    again at each config change announcement under `/config/changes`,
//!    which it purges after 15 minutes: [`config_changes`]), this
//!    broker's and the cluster-wide dynamic broker configs (from
//!    `/config/brokers/<id>` and `/config/brokers/<default>`, at start
//!    and at each announcement naming them: [`broker_configs`]), and
//!    the outcomes of the writes it asked for ([`Command`]: creating
//!    topics, marking topics for deletion, changing an ISR; see
//!    [`admin`]);
//! 5. while it is the controller, keeps a channel to every live broker,
//!    itself included (Kafka's `ControllerChannelManager`: [`channel`]
//!    decides, [`sender`] sends), sends each UpdateMetadata with the live
//!    brokers when it is elected and whenever they change, and drives the
//!    core's controller machine ([`control`]): it loads every topic and
//!    partition state when elected, follows new topics and leaders' ISR
//!    change notifications and topic deletions (`/admin/delete_topics`)
//!    through watches, sends StopReplica to delete replicas (and waits
//!    for their answers before it removes a deleted topic's znodes),
//!    writes leader and ISR to the state znodes fenced by its term, and sends LeaderAndIsr (v5) and
//!    UpdateMetadata with partition states. It stops sending the moment
//!    it resigns;
//! 6. at shutdown, first asks the controller to move its leadership
//!    ([`shutdown`], Kafka's controlled shutdown), then closes the
//!    session, so its znodes go at once rather than a session timeout
//!    later.
//!
//! The controller also serves ControlledShutdown and ElectLeaders (the
//! core holds them and asks through [`Command::AskController`]), and runs
//! the automatic leader rebalance on its timer ([`rebalance`]).
//!
//! # Layout
//!
//! Kafka's, so `zkCli.sh` and Kafka's tools read it as a Kafka cluster
//! (paths are under the chroot, if `zookeeper.connect` names one; the
//! JSON is in [`znodes`]):
//!
//! ```text
//! /cluster/id                   the cluster id                        persistent
//! /brokers/ids/<id>             a live broker's registration          ephemeral
//! /controller                   the controller's claim                ephemeral
//! /controller_epoch             the controller term, bumped per win   persistent
//! /brokers/topics, /brokers/seqid, /config/{changes,topics,clients,users,brokers,ips},
//! /admin/delete_topics, /isr_change_notification, /latest_producer_id_block,
//! /log_dir_event_notification, /consumers                             persistent, empty
//! ```
//!
//! # Partition leadership
//!
//! The controller's decisions are made by a sans-I/O machine in the core,
//! `spate_core::coordinator::controller::Controller` (Kafka's
//! ZooKeeper-era `KafkaController` rules: new partitions, clean election
//! on a broker failure, offline with leader -1 when no ISR member lives,
//! conditional writes that re-read on a conflict). [`control`] feeds it
//! and carries out what it asks; the topic, partition-state, config and
//! ISR-notification znodes are in [`topic_znodes`].
//!
//! A leader changes its partition's ISR itself (a follower behind for
//! `replica.lag.time.max.ms` leaves, one that caught up comes back): the
//! core asks, [`admin::write_isr`] writes the state znode at the version
//! the leader knows and leaves a notification under
//! `/isr_change_notification`, which the controller reads to tell every
//! broker. A write that finds the znode moved fences that leader until
//! the next LeaderAndIsr.
//!
//! # Not here yet
//!
//! What is still missing is listed in the README ("Brokers in a
//! ZooKeeper cluster", "What is missing").
//!
//! The broker talks to ZooKeeper only through the [`Engine`] trait, so
//! another coordination service can take its place; the core
//! (`spate-core`) knows nothing of either.

pub(crate) mod admin;
mod broker_configs;
mod channel;
mod config_changes;
mod control;
pub(crate) mod engine;
mod leader_and_isr;
pub(crate) mod membership;
mod news;
pub(crate) mod rebalance;
mod requests;
pub(crate) mod security;
mod security_znodes;
mod sender;
pub(crate) mod shutdown;
mod stop_replica;
#[cfg(test)]
mod tests;
mod topic_znodes;
mod znodes;
pub(crate) mod zookeeper;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::info;

use crate::serve::outbound::InterBroker;

pub(crate) use admin::Command;
pub(crate) use engine::{BrokerInfo, Engine, EngineError};
pub(crate) use news::{News, Tell};

/// A session with the cluster's engine, and the cluster's id: a broker
/// that is about to join (not yet registered).
pub(crate) struct Joining<E> {
    engine: E,
    cluster_id: String,
}

/// Connects and settles the cluster id: the stored one, or `proposed`.
pub(crate) async fn connect<E: Engine>(
    config: &E::Config,
    proposed: &str,
) -> Result<Joining<E>, EngineError> {
    let engine = E::connect(config).await?;
    let cluster_id = engine.cluster_id(proposed).await?;
    info!(cluster = %cluster_id, "cluster id");
    Ok(Joining { engine, cluster_id })
}

impl<E: Engine> Joining<E> {
    /// The cluster's id.
    pub(crate) fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// How many partitions `topic` has in the cluster (`None`: it does
    /// not exist yet, or its assignment cannot be read, which is logged).
    /// Kafka's group and transaction coordinators read it for their
    /// internal topics at startup, so that every broker maps a group or a
    /// transactional id to the topic's real partitions whatever its own
    /// `offsets.topic.num.partitions` says.
    pub(crate) async fn partition_count(&self, topic: &str) -> Result<Option<i32>, EngineError> {
        let path = topic_znodes::topic_path(topic);
        let Some(v) = self.engine.read(&path).await? else {
            return Ok(None);
        };
        match topic_znodes::decode_topic(topic, &v.data) {
            Ok(t) => Ok(i32::try_from(t.partitions.len()).ok()),
            Err(why) => {
                tracing::warn!("{path}: {why}; the configured partition count is used");
                Ok(None)
            }
        }
    }

    /// Registers `me`, then starts the [`membership`] loop in a task.
    /// `tell` is told the broker epoch of this registration and of every
    /// later one, and the other [`News`]. The controller's channels and a
    /// controlled shutdown connect to other brokers with `security`. On
    /// failure the session is closed.
    pub(crate) async fn join(
        mut self,
        me: BrokerInfo,
        tell: Tell,
        (rebalance, security): (rebalance::RebalanceConfig, Arc<InterBroker>),
    ) -> Result<Member, EngineError> {
        let epoch = match self.engine.register(&me).await {
            Ok(epoch) => epoch,
            Err(e) => {
                self.engine.close().await;
                return Err(e);
            }
        };
        info!("registered broker {} (broker epoch {})", me.id, epoch.0);
        tell(News::Registered(epoch));
        let (stop, stopped) = oneshot::channel();
        let (commands, inbox) = mpsc::unbounded_channel();
        let task = tokio::spawn(membership::run(
            self.engine,
            me,
            tell,
            inbox,
            stopped,
            (rebalance, security),
        ));
        Ok(Member {
            stop,
            task,
            commands,
        })
    }

    /// Ends the session without joining.
    pub(crate) async fn abandon(self) {
        self.engine.close().await;
    }
}

/// A registered broker's membership loop.
pub(crate) struct Member {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Member {
    /// Where the broker's owner sends what it asks of the cluster
    /// (answered as [`News`]).
    pub(crate) fn commands(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }

    /// Shuts down in a controlled way when `config` enables it: asks the
    /// controller to move this broker's leadership, and returns once it
    /// moved or the tries ran out (see [`shutdown`]). The broker keeps
    /// serving meanwhile.
    pub(crate) async fn shut_down_controlled(&self, config: shutdown::ShutdownConfig) {
        if !config.enable {
            return;
        }
        let (done, moved) = oneshot::channel();
        if self
            .commands
            .send(Command::ShutDown { config, done })
            .is_ok()
        {
            let _ = moved.await;
        }
    }

    /// Stops the loop and closes the session.
    pub(crate) async fn leave(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Kafka's check of a data directory against the cluster it joins
/// (`InconsistentClusterIdException`).
pub(crate) fn check_cluster_id(
    stored: &str,
    cluster: &str,
    dir: &std::path::Path,
) -> Result<(), String> {
    if stored == cluster {
        return Ok(());
    }
    Err(format!(
        "the cluster id {cluster} in ZooKeeper does not match the cluster id {stored} in {}: \
         this broker is trying to join the wrong cluster (is zookeeper.connect right?) \
         (Kafka: InconsistentClusterIdException)",
        dir.join("meta.properties").display()
    ))
}
