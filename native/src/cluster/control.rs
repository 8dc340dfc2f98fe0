//! The controller's driver: it feeds the core's sans-I/O controller
//! machine (`spate_core::coordinator::controller::Controller`) what the
//! engine holds, carries out the machine's writes and reads on the
//! engine, and hands its LeaderAndIsr and UpdateMetadata requests to the
//! channels ([`Channels::tell`], then [`Senders`]).
//!
//! The membership loop owns it, beside the engine, and calls it after
//! every round of its own work while this broker is the controller:
//!
//! - a new term (or a failed load to retry): read every topic's
//!   assignment and every partition's state znode, then
//!   `handle_elected` (Kafka's `onControllerFailover`);
//! - the live brokers changed: `handle_brokers` (Kafka's
//!   `onBrokerStartup` / `onBrokerFailure`);
//! - topics appeared under `/brokers/topics`: read the new ones,
//!   `handle_topics` (Kafka's `TopicChange`);
//! - a known topic's assignment znode changed (a data watch set when it
//!   is read): read it again, `handle_topics` (Kafka's
//!   `PartitionModifications`: new partitions get leaders);
//! - topics were marked under `/admin/delete_topics` (and after every
//!   load): list them, `handle_deletions` (Kafka's `TopicDeletion`). The
//!   machine's StopReplica requests go to the channels like its other
//!   requests, and their answers come back from the channels
//!   ([`Control::stop_replica_answered`]); once every replica of a topic
//!   answered with no error, the machine says the topic is deleted, and
//!   `/brokers/topics/<topic>` (with every znode under it),
//!   `/config/topics/<topic>` and the mark are deleted, in that order
//!   (Kafka's `deleteTopicZNode`, `deleteTopicConfigs`,
//!   `deleteTopicDeletions`). Replicas answered with an error are asked
//!   again after [`DELETION_RETRY`] (`handle_retry_deletions`).
//!
//! - AlterPartitionReassignments and ListPartitionReassignments held on
//!   a connection: [`Control::reassign`] hands the moves to the machine
//!   (`handle_reassign`), whose assignment writes are carried out here
//!   ([`write_assignment`]: read, overlay the partitions it names, write
//!   back if the znode did not move, fenced by the term), and
//!   [`Control::list_reassignments`] answers from what the machine holds.
//!
//! Then the machine's outputs are drained. Writes go to the state znodes
//! conditionally and fenced by this term (a deposed controller's write
//! fails); their outcomes go back together, so that the requests they
//! settle are batched. A read after a conflict that cannot be made now
//! is owed, and made on the next call. When this broker stops being the
//! controller, [`Control::resign`] makes the machine forget everything
//! at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use spate_core::coordinator::controller::{
    Controller, Expect as Condition, Listed, Outcome, Output, Stored, TopicAssignment, WriteOutcome,
};
use spate_core::protocol::ErrorCode;
use spate_core::storage::TopicPartition;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

/// The pause before replicas whose deletion failed (a StopReplica answered
/// with an error) are asked again.
pub(crate) const DELETION_RETRY: Duration = Duration::from_secs(5);

use super::channel::Channels;
use super::engine::{
    BrokerId, ControllerEpoch, Engine, EngineError, Expect, Registered, Version, Written,
};
use super::sender::{Senders, Stopped};
use super::topic_znodes::{
    config_path, decode_isr_change, decode_state, decode_topic, deletion_path, encode_topic,
    state_path, topic_path, DELETE_TOPICS, ISR_CHANGES, TOPICS,
};

/// The controller machine and what its driver owes it.
#[derive(Debug, Default)]
pub(crate) struct Control {
    machine: Controller,
    /// The term the machine was loaded in (`None`: not loaded).
    loaded: Option<i32>,
    /// The live broker ids the machine was last given.
    live: BTreeSet<BrokerId>,
    /// The topics the machine knows.
    topics: BTreeSet<String>,
    /// The topic list changed since it was last read.
    topics_changed: bool,
    /// Leaders left ISR change notifications.
    isr_changes: bool,
    /// Topics were marked for deletion.
    deletions: bool,
    /// State znodes to read again (a read that failed).
    reads: BTreeSet<TopicPartition>,
    /// Who waits for each shutting-down broker's answer.
    shutdowns: BTreeMap<BrokerId, Vec<Asker>>,
    /// Answers not yet taken ([`Control::take_answers`]).
    answered: Vec<Answer>,
    /// Topics the machine deleted whose znodes are still to remove.
    deleted: BTreeSet<String>,
    /// Known topics whose assignment znode changed.
    modified: BTreeSet<String>,
    /// When the replicas whose deletion failed are asked again.
    retry_deletions_at: Option<Instant>,
    /// When each ElectLeaders held is answered with what is settled
    /// (its `timeout_ms`).
    elect_deadlines: BTreeMap<u64, Instant>,
    /// The live registrations the machine was last given.
    registered: BTreeMap<BrokerId, Registered>,
}

/// An answer of the controller machine's, for the membership loop to
/// deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// To a controlled shutdown.
    Shutdown(Asker, ShutdownResult),
    /// To the ElectLeaders request held on this connection.
    Elected(u64, Vec<(TopicPartition, ErrorCode)>),
    /// To the AlterPartitionReassignments request held on this
    /// connection, with whether it allowed a replica count change.
    Reassigned(u64, Vec<Outcome>, bool),
}

/// Who asked for a controlled shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asker {
    /// A ControlledShutdown request held on this connection of the broker.
    Conn(u64),
    /// This broker, the controller, shutting down itself.
    Me,
}

/// A controlled shutdown's answer: the partitions the broker still leads.
pub(crate) type ShutdownResult = Result<Vec<TopicPartition>, ErrorCode>;

impl Control {
    /// This broker stopped being the controller: forget everything.
    pub(crate) fn resign(&mut self) {
        if self.loaded.is_some() {
            debug!("the controller machine forgets its term");
        }
        self.machine.handle_resigned();
        while let Some(out) = self.machine.poll_output() {
            match out {
                Output::Elected { request, results } => {
                    self.answered.push(Answer::Elected(request, results));
                }
                Output::Reassigned {
                    request,
                    results,
                    allow_rf_change,
                } => {
                    self.answered
                        .push(Answer::Reassigned(request, results, allow_rf_change));
                }
                _ => {}
            }
        }
        self.not_controller();
        let answered = std::mem::take(&mut self.answered);
        *self = Control::default();
        self.answered = answered;
    }

    /// A broker answered a StopReplica: the machine hears of it if it was
    /// sent in this term; a deletion that failed is retried after
    /// [`DELETION_RETRY`] (from the next [`Control::step`] due).
    pub(crate) fn stop_replica_answered(&mut self, stopped: Stopped) {
        if self.loaded != Some(stopped.controller_epoch) {
            return;
        }
        self.machine
            .handle_stop_replica_answered(stopped.broker, stopped.partitions);
        if self.machine.deletions_failed() && self.retry_deletions_at.is_none() {
            self.retry_deletions_at = Some(Instant::now() + DELETION_RETRY);
        }
    }

    /// When the membership loop is to call [`Control::step`] again to
    /// retry failed deletions.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        let elect = self.elect_deadlines.values().min().copied();
        match (self.retry_deletions_at, elect) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Answers the ElectLeaders requests whose time ran out (the machine
    /// answers REQUEST_TIMED_OUT for what is not settled).
    fn expire_elections(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .elect_deadlines
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(r, _)| *r)
            .collect();
        for request in due {
            self.elect_deadlines.remove(&request);
            info!(request, "leader election ran out of time");
            self.machine.handle_elect_timeout(request);
        }
    }

    /// Broker `broker` asks to shut down (Kafka's `controlledShutdown`):
    /// the machine moves its leadership; the answer comes out of
    /// [`Control::take_answers`] once its partitions are settled.
    /// NOT_CONTROLLER until the machine is loaded; BROKER_NOT_AVAILABLE
    /// when the machine does not know it live.
    pub(crate) fn controlled_shutdown(
        &mut self,
        broker: BrokerId,
        asker: Asker,
    ) -> Result<(), ErrorCode> {
        if self.loaded.is_none() {
            return Err(ErrorCode::NOT_CONTROLLER);
        }
        self.machine.handle_controlled_shutdown(broker)?;
        info!(
            broker,
            "controlled shutdown: moving the broker's leadership"
        );
        self.shutdowns.entry(broker).or_default().push(asker);
        Ok(())
    }

    /// ElectLeaders, held on connection `conn`: the machine elects, and
    /// the answer comes out of [`Control::take_answers`]. NOT_CONTROLLER
    /// for every partition until the machine is loaded.
    pub(crate) fn elect_leaders(
        &mut self,
        conn: u64,
        preferred: bool,
        partitions: Option<Vec<TopicPartition>>,
        timeout_ms: i32,
    ) {
        if self.loaded.is_none() {
            let results = partitions
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, ErrorCode::NOT_CONTROLLER))
                .collect();
            self.answered.push(Answer::Elected(conn, results));
            return;
        }
        info!(preferred, timeout_ms, "leader election asked for");
        let timeout = std::time::Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        self.elect_deadlines.insert(conn, Instant::now() + timeout);
        self.machine
            .handle_elect_leaders(conn, preferred, partitions);
    }

    /// AlterPartitionReassignments, held on connection `conn`: the
    /// machine starts the moves, and the answer comes out of
    /// [`Control::take_answers`]. NOT_CONTROLLER until the machine is
    /// loaded.
    pub(crate) fn reassign(
        &mut self,
        conn: u64,
        partitions: Vec<(TopicPartition, Option<Vec<BrokerId>>)>,
        allow_rf_change: bool,
    ) -> Result<(), ErrorCode> {
        if self.loaded.is_none() {
            return Err(ErrorCode::NOT_CONTROLLER);
        }
        info!(
            partitions = partitions.len(),
            "partition reassignment asked for"
        );
        self.machine
            .handle_reassign(conn, partitions, allow_rf_change);
        Ok(())
    }

    /// ListPartitionReassignments: the moves in progress among
    /// `partitions` (`None`: all). NOT_CONTROLLER until the machine is
    /// loaded.
    pub(crate) fn list_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<Listed>, ErrorCode> {
        if self.loaded.is_none() {
            return Err(ErrorCode::NOT_CONTROLLER);
        }
        Ok(self.machine.reassignments(partitions.as_deref()))
    }

    /// The automatic leader rebalance check, when loaded (Kafka's
    /// `checkAndTriggerAutoLeaderRebalance`).
    pub(crate) fn rebalance_check(&mut self, percentage: u32) {
        if self.loaded.is_some() {
            debug!("leader imbalance check");
            self.machine.handle_rebalance_check(percentage);
        }
    }

    /// The answers since the last call.
    pub(crate) fn take_answers(&mut self) -> Vec<Answer> {
        std::mem::take(&mut self.answered)
    }

    /// Answers every waiting controlled shutdown with NOT_CONTROLLER (the
    /// machine forgets them: a new term, or a resignation).
    fn not_controller(&mut self) {
        for (_, askers) in std::mem::take(&mut self.shutdowns) {
            for a in askers {
                self.answered
                    .push(Answer::Shutdown(a, Err(ErrorCode::NOT_CONTROLLER)));
            }
        }
    }

    /// The topics under `/brokers/topics` changed.
    pub(crate) fn topics_changed(&mut self) {
        self.topics_changed = true;
    }

    /// Leaders left notifications under `/isr_change_notification`.
    pub(crate) fn isr_changes_notified(&mut self) {
        self.isr_changes = true;
    }

    /// A watched key changed: a topic's assignment (Kafka's
    /// `PartitionModifications`) is read again.
    pub(crate) fn data_changed(&mut self, key: &str) {
        let topic = key.strip_prefix(TOPICS).and_then(|t| t.strip_prefix('/'));
        if let Some(t) = topic.filter(|t| !t.contains('/')) {
            self.modified.insert(t.to_string());
        }
    }

    /// Topics were marked under `/admin/delete_topics`.
    pub(crate) fn deletions_requested(&mut self) {
        self.deletions = true;
    }

    /// Brings the machine up to date with the engine and carries out
    /// what it asks, as the controller in `term`, with `live` the live
    /// brokers as last read (and told by `channels`). An error leaves
    /// what is owed for the next call.
    pub(crate) async fn step<E: Engine>(
        &mut self,
        engine: &E,
        me: BrokerId,
        term: ControllerEpoch,
        live: &[Registered],
        channels: &Channels,
        senders: &mut Senders,
    ) -> Result<(), EngineError> {
        self.expire_elections();
        let ids: BTreeSet<BrokerId> = live.iter().map(|r| r.info.id).collect();
        let was = std::mem::replace(
            &mut self.registered,
            live.iter().map(|r| (r.info.id, r.clone())).collect(),
        );
        // Registered again unseen: the channels gave it a new channel.
        let restarted = live
            .iter()
            .filter(|r| was.get(&r.info.id).is_some_and(|old| old != *r))
            .map(|r| r.info.id);
        if self.loaded == Some(term.epoch) {
            for id in restarted {
                debug!(broker = id, "broker {id} registered again");
                self.machine.handle_broker_restarted(id);
            }
        }
        if self.loaded != Some(term.epoch) {
            self.load(engine, term.epoch, ids).await?;
        } else {
            if ids != self.live {
                self.live = ids.clone();
                self.machine.handle_brokers(ids);
            }
            if self.topics_changed {
                self.new_topics(engine).await?;
            }
            while let Some(name) = self.modified.first().cloned() {
                let t = if self.topics.contains(&name) {
                    read_topic(engine, &name).await?
                } else {
                    None
                };
                self.modified.remove(&name);
                if let Some(t) = t {
                    debug!(topic = %name, partitions = t.partitions.len(), "the topic's assignment changed");
                    self.machine.handle_topics(vec![t]);
                }
            }
        }
        // After a load too: notifications left before this term are read
        // (the states they name were loaded, so they tell nothing new).
        if self.isr_changes {
            self.read_isr_changes(engine).await?;
        }
        if self.retry_deletions_at.is_some_and(|t| t <= Instant::now()) {
            self.retry_deletions_at = None;
            info!("asking again the replicas whose deletion failed");
            self.machine.handle_retry_deletions();
        }
        if self.deletions {
            let names = engine.children(DELETE_TOPICS).await?;
            self.deletions = false;
            if !names.is_empty() {
                info!("topics marked for deletion: {}", names.join(", "));
            }
            self.machine.handle_deletions(names.into_iter().collect());
        }
        self.drain(engine, me, term, channels, senders).await
    }

    /// Reads everything and starts the machine's term.
    async fn load<E: Engine>(
        &mut self,
        engine: &E,
        epoch: i32,
        live: BTreeSet<BrokerId>,
    ) -> Result<(), EngineError> {
        self.topics_changed = false;
        let names = engine.children(TOPICS).await?;
        let mut topics = Vec::new();
        let mut states = BTreeMap::new();
        for name in &names {
            let Some(t) = read_topic(engine, name).await? else {
                continue;
            };
            for &p in t.partitions.keys() {
                let tp = TopicPartition::new(name.clone(), p);
                if let Some(s) = read_state(engine, &tp).await? {
                    states.insert(tp, s);
                }
            }
            topics.push(t);
        }
        info!(
            "controller (epoch {epoch}) loaded {} topics, {} partition states, live brokers {:?}",
            topics.len(),
            states.len(),
            live
        );
        self.topics = topics.iter().map(|t| t.name.clone()).collect();
        self.live = live.clone();
        self.reads.clear();
        self.not_controller();
        self.deletions = true;
        self.modified.clear();
        self.loaded = Some(epoch);
        self.machine.handle_elected(epoch, live, topics, states);
        Ok(())
    }

    /// Reads the topics the machine does not know yet.
    async fn new_topics<E: Engine>(&mut self, engine: &E) -> Result<(), EngineError> {
        let names: BTreeSet<String> = engine.children(TOPICS).await?.into_iter().collect();
        self.topics_changed = false;
        let mut new = Vec::new();
        for name in names.difference(&self.topics) {
            if let Some(t) = read_topic(engine, name).await? {
                new.push(t);
            }
        }
        for gone in self.topics.difference(&names) {
            warn!("topic {gone} was removed from ZooKeeper; topic deletion is not supported yet");
        }
        if new.is_empty() {
            return Ok(());
        }
        let list: Vec<&str> = new.iter().map(|t| t.name.as_str()).collect();
        info!("new topics: {}", list.join(", "));
        self.topics.extend(new.iter().map(|t| t.name.clone()));
        self.machine.handle_topics(new);
        Ok(())
    }

    /// Reads the ISR change notifications, in order, and what the states
    /// they name hold now; deletes each once its states are read (Kafka's
    /// `IsrChangeNotification` event).
    async fn read_isr_changes<E: Engine>(&mut self, engine: &E) -> Result<(), EngineError> {
        self.isr_changes = false;
        let mut names = engine.children(ISR_CHANGES).await?;
        names.sort();
        for name in names {
            let path = format!("{ISR_CHANGES}/{name}");
            let Some(v) = engine.read(&path).await? else {
                continue;
            };
            let tps = decode_isr_change(&v.data).unwrap_or_else(|why| {
                error!("{path}: {why}; dropped");
                Vec::new()
            });
            for tp in tps {
                let stored = read_state(engine, &tp).await?;
                debug!(partition = %tp, "a leader changed the ISR");
                self.machine.handle_isr_changed(&tp, stored);
            }
            engine.delete(&path).await?;
        }
        Ok(())
    }

    /// Carries out the machine's outputs until it has none.
    async fn drain<E: Engine>(
        &mut self,
        engine: &E,
        me: BrokerId,
        term: ControllerEpoch,
        channels: &Channels,
        senders: &mut Senders,
    ) -> Result<(), EngineError> {
        loop {
            let mut written = Vec::new();
            while let Some(out) = self.machine.poll_output() {
                match out {
                    Output::Write { tp, state, expect } => {
                        let expect = match expect {
                            Condition::Absent => Expect::Absent,
                            Condition::Version(v) => Expect::Version(Version(i64::from(v))),
                        };
                        let data = super::topic_znodes::encode_state(&state);
                        let outcome = match engine
                            .write(&state_path(&tp), &data, expect, Some(term))
                            .await
                        {
                            Ok(Written::Done(v)) => {
                                debug!(
                                    partition = %tp,
                                    leader = state.leader,
                                    leader_epoch = state.leader_epoch,
                                    isr = ?state.isr,
                                    "wrote the partition state"
                                );
                                WriteOutcome::Done(i32::try_from(v.0).unwrap_or(i32::MAX))
                            }
                            Ok(Written::Conflict) => WriteOutcome::Conflict,
                            Err(e) => {
                                warn!(partition = %tp, error = %e, "writing the partition state failed");
                                WriteOutcome::Failed
                            }
                        };
                        written.push((tp, state, outcome));
                    }
                    Output::Read { tp } => {
                        self.reads.insert(tp);
                    }
                    Output::ShutdownDone { broker, remaining } => {
                        info!(
                            broker,
                            still_leads = remaining.len(),
                            "controlled shutdown: answered"
                        );
                        for a in self.shutdowns.remove(&broker).unwrap_or_default() {
                            self.answered
                                .push(Answer::Shutdown(a, Ok(remaining.clone())));
                        }
                    }
                    Output::Elected { request, results } => {
                        info!(request, "leader election answered");
                        self.elect_deadlines.remove(&request);
                        self.answered.push(Answer::Elected(request, results));
                    }
                    Output::Reassigned {
                        request,
                        results,
                        allow_rf_change,
                    } => {
                        info!(request, "partition reassignment answered");
                        self.answered
                            .push(Answer::Reassigned(request, results, allow_rf_change));
                    }
                    Output::WriteAssignment { assignment } => {
                        let topic = assignment.name.clone();
                        let done = write_assignment(engine, term, &assignment).await;
                        self.machine.handle_assignment_written(&topic, done.is_ok());
                        if let Err(e) = done {
                            warn!(topic = %topic, error = %e, "writing the topic's assignment failed");
                            return Err(e);
                        }
                        info!(
                            topic = %topic,
                            partitions = ?assignment.partitions,
                            adding = ?assignment.adding,
                            removing = ?assignment.removing,
                            "wrote the topic's assignment"
                        );
                    }
                    Output::TopicDeleted { topic } => {
                        self.topics.remove(&topic);
                        self.deleted.insert(topic);
                    }
                    Output::DropDeletion { topic } => {
                        info!(topic = %topic, "no such topic to delete; dropping the mark");
                        engine.delete(&deletion_path(&topic)).await?;
                    }
                    out => senders.apply(channels.tell(me, out).into_iter().collect()),
                }
            }
            if !written.is_empty() {
                self.machine.handle_written(written);
                continue;
            }
            while let Some(topic) = self.deleted.first().cloned() {
                delete_tree(engine, &topic_path(&topic)).await?;
                engine.delete(&config_path(&topic)).await?;
                engine.delete(&deletion_path(&topic)).await?;
                self.deleted.remove(&topic);
                info!(topic = %topic, "deleted the topic");
            }
            let Some(tp) = self.reads.first().cloned() else {
                return Ok(());
            };
            let stored = read_state(engine, &tp).await?;
            self.reads.remove(&tp);
            self.machine.handle_read(&tp, stored);
        }
    }
}

/// Writes the partitions `assignment` names into the topic's assignment
/// znode, keeping the others as the znode holds them (a CreatePartitions
/// may have added some the machine has not read yet): read, overlay,
/// write back at the version read, fenced by `term`; a write that meets
/// another writer reads again (three times at most).
async fn write_assignment<E: Engine>(
    engine: &E,
    term: ControllerEpoch,
    assignment: &TopicAssignment,
) -> Result<(), EngineError> {
    let path = topic_path(&assignment.name);
    for _ in 0..3 {
        let Some(v) = engine.read(&path).await? else {
            return Err(EngineError::Other(format!("{path} is gone")));
        };
        let mut now =
            decode_topic(&assignment.name, &v.data).map_err(|reason| EngineError::Malformed {
                key: path.clone(),
                reason,
            })?;
        for (&p, replicas) in &assignment.partitions {
            now.partitions.insert(p, replicas.clone());
            now.adding.remove(&p);
            now.removing.remove(&p);
        }
        now.adding.extend(assignment.adding.clone());
        now.removing.extend(assignment.removing.clone());
        let data = encode_topic(&now);
        if let Written::Done(_) = engine
            .write(&path, &data, Expect::Version(v.version), Some(term))
            .await?
        {
            return Ok(());
        }
    }
    Err(EngineError::Other(format!(
        "{path} kept changing while it was written (or this controller was deposed)"
    )))
}

/// Deletes `key` and every key under it, deepest first.
async fn delete_tree<E: Engine>(engine: &E, key: &str) -> Result<(), EngineError> {
    let mut order = vec![key.to_string()];
    let mut i = 0;
    while i < order.len() {
        let parent = order[i].clone();
        for child in engine.children(&parent).await? {
            order.push(format!("{parent}/{child}"));
        }
        i += 1;
    }
    for k in order.iter().rev() {
        engine.delete(k).await?;
    }
    Ok(())
}

/// A topic's assignment (`None`: gone, or unreadable, which is logged).
async fn read_topic<E: Engine>(
    engine: &E,
    name: &str,
) -> Result<Option<spate_core::coordinator::controller::TopicAssignment>, EngineError> {
    let path = topic_path(name);
    let Some(v) = engine.read_watched(&path).await? else {
        return Ok(None);
    };
    match decode_topic(name, &v.data) {
        Ok(t) => Ok(Some(t)),
        Err(why) => {
            error!("{path}: {why}; the topic is left alone");
            Ok(None)
        }
    }
}

/// A partition's state znode (`None`: absent). One that cannot be decoded
/// is an error: deciding over it would overwrite what another writer
/// meant.
async fn read_state<E: Engine>(
    engine: &E,
    tp: &TopicPartition,
) -> Result<Option<Stored>, EngineError> {
    let path = state_path(tp);
    let Some(v) = engine.read(&path).await? else {
        return Ok(None);
    };
    let state = decode_state(&v.data).map_err(|reason| EngineError::Malformed {
        key: path.clone(),
        reason,
    })?;
    Ok(Some(Stored {
        state,
        version: i32::try_from(v.version.0).unwrap_or(i32::MAX),
    }))
}
