//! Brokers in a cluster, coordinated by Apache ZooKeeper as in Kafka 2.x:
//! membership and controller election, and the controller telling every
//! broker who is alive, so that all brokers serve the same membership
//! (Metadata and DescribeCluster list every live broker and the
//! controller). Replication is not here yet: every broker still serves
//! its own partitions alone.
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
//!    election, and registering again after a session expires. Every
//!    registration's broker epoch goes to the task that owns the core's
//!    `Broker` (`handle_registered`), so it refuses requests meant for an
//!    earlier incarnation;
//! 5. while it is the controller, keeps a channel to every live broker,
//!    itself included (Kafka's `ControllerChannelManager`: [`channel`]
//!    decides, [`sender`] sends), and sends each UpdateMetadata (the
//!    controller id and epoch, the target's broker epoch, the live brokers
//!    with their endpoints; no partition states yet) when it is elected
//!    and whenever the live brokers change. It stops sending the moment
//!    it resigns;
//! 6. at shutdown closes the session, so its znodes go at once rather than
//!    a session timeout later.
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
//! # Partition leadership: what is built, and the plan
//!
//! The controller's decisions are made by a sans-I/O machine in the core,
//! `spate_core::coordinator::controller::Controller` (Kafka's
//! ZooKeeper-era `KafkaController` rules: new partitions, clean election
//! on a broker failure, offline with leader -1 when no ISR member lives,
//! conditional writes that re-read on a conflict; tested there in virtual
//! terms). The topic and partition-state znodes it reads and writes are
//! in [`topic_znodes`]. Neither is driven by `spate serve` yet. The next
//! steps, in order:
//!
//! 1. [`Engine`]: `children(key)` (the topics under `/brokers/topics`),
//!    and a watch on `/brokers/topics` children reported as a new
//!    `Event::TopicsChanged(names)` (the ZooKeeper impl arms it beside the
//!    `/brokers/ids` watch, in `zookeeper::Watch`).
//! 2. [`membership`]: on `Election::Won`, read the live brokers, every
//!    topic (`topic_znodes::decode_topic`) and every state znode, and call
//!    `Controller::handle_elected`; on `BrokersChanged` call
//!    `handle_brokers`; on `TopicsChanged` read the new topics and call
//!    `handle_topics`; on resigning, `handle_resigned` before anything
//!    else (as the channels are closed now). Drain `poll_output`: carry
//!    out every `Write` with `Engine::write(state_path, encode_state,
//!    Expect, fence = this term)`, mapping `Written::Conflict` and errors
//!    to `WriteOutcome::{Conflict, Failed}`, and hand the outcomes of one
//!    drain back together (so the requests that follow are batched); every
//!    `Read` with `Engine::read`.
//! 3. [`channel`]: `Step::Send` carries either an UpdateMetadata (the
//!    live brokers, now with the partition states of `Output::
//!    UpdateMetadata`) or a LeaderAndIsr (the partitions of `Output::
//!    LeaderAndIsr`, with `live_leaders` = the leaders' endpoints);
//!    [`sender`] sends LeaderAndIsr at v5 when the target serves it (what
//!    Kafka 3.x's ZooKeeper controller sent at inter-broker protocol 2.8+,
//!    with topic ids), in the channel's order. The core's broker side
//!    (`api/leader_and_isr.rs`, `api/update_metadata.rs`) already takes
//!    both.
//! 4. CreateTopics in ZooKeeper mode (Kafka's `ZkAdminManager`): the core
//!    validates and computes the assignment (`replication.factor`,
//!    `num.partitions`, explicit assignments, rack-aware as
//!    `AdminUtils.assignReplicasToBrokers`; INVALID_REPLICATION_FACTOR when
//!    it exceeds the live brokers), and outputs "create these topics" for
//!    the driver, which writes `/config/topics/T` then `/brokers/topics/T`
//!    (`topic_znodes::encode_topic`, `Expect::Absent`;
//!    TOPIC_ALREADY_EXISTS on a conflict) and hands the result back as an
//!    input. The answer is held until the broker's metadata shows a leader
//!    for every partition, or the request's timeout (Kafka's
//!    `DelayedCreatePartitions`). Internal topics (`__consumer_offsets`,
//!    `__transaction_state`) stay on the broker's own controller until
//!    then. The core's side is built: `Output::CreateTopics { request,
//!    topics }` (each `NewTopic` with its name, id, assignment and the
//!    configs the request set) and `Broker::handle_topics_created(request,
//!    results, now)`. `serve` answers every such output with
//!    UNKNOWN_SERVER_ERROR for now (`todo_create_topics_in_zookeeper`);
//!    this step replaces it with the writes.
//!
//! The broker talks to ZooKeeper only through the [`Engine`] trait, so
//! another coordination service can take its place; the core
//! (`spate-core`) knows nothing of either.

mod channel;
pub(crate) mod engine;
pub(crate) mod membership;
mod sender;
#[cfg(test)]
mod tests;
mod topic_znodes;
mod znodes;
pub(crate) mod zookeeper;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::info;

pub(crate) use engine::{BrokerEpoch, BrokerInfo, Engine, EngineError};
pub(crate) use membership::OnRegistered;

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

    /// Registers `me`, then starts the [`membership`] loop in a task.
    /// `on_registered` is told the broker epoch of this registration and
    /// of every later one. On failure the session is closed.
    pub(crate) async fn join(
        mut self,
        me: BrokerInfo,
        on_registered: OnRegistered,
    ) -> Result<Member, EngineError> {
        let epoch = match self.engine.register(&me).await {
            Ok(epoch) => epoch,
            Err(e) => {
                self.engine.close().await;
                return Err(e);
            }
        };
        info!("registered broker {} (broker epoch {})", me.id, epoch.0);
        on_registered(epoch);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(membership::run(self.engine, me, on_registered, stopped));
        Ok(Member { stop, task })
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
}

impl Member {
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
