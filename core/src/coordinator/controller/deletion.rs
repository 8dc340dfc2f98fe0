//! Topic deletion, Kafka 2.x's `TopicDeletionManager` in small: a topic
//! marked for deletion (`/admin/delete_topics/<topic>`, which the driver
//! lists in [`Controller::handle_deletions`]) gets no more partition
//! decisions; once none of its partitions has a write in flight and every
//! one of its replicas is on a live broker, the controller
//!
//! 1. tells every live broker in UpdateMetadata that its partitions are
//!    being deleted (leader [`LEADER_DURING_DELETE`]: each broker drops
//!    them from its metadata),
//! 2. sends StopReplica with delete=true, at leader epoch
//!    [`LEADER_DURING_DELETE`], to every broker that holds a replica (each
//!    deletes its logs; Kafka's `ReplicaDeletionStarted`),
//! 3. waits for the answers, which the driver hands to
//!    [`Controller::handle_stop_replica_answered`]: a replica answered
//!    with no error is deleted (`ReplicaDeletionSuccessful`); one answered
//!    with an error (KAFKA_STORAGE_ERROR) failed (`ReplicaDeletionIneligible`)
//!    and gets StopReplica again at [`Controller::handle_retry_deletions`],
//!    which the driver calls after a pause; one whose broker leaves the
//!    live set before answering gets it again once the broker is back (or
//!    at once, [`Controller::handle_broker_restarted`], when it registered
//!    again without being seen to leave),
//! 4. once every replica is deleted, forgets the topic and asks the driver
//!    to remove its znodes ([`Output::TopicDeleted`]).
//!
//! Only answers at leader epoch [`LEADER_DURING_DELETE`] count: the
//! StopReplica of a controlled shutdown (delete=false) and of a
//! reassignment (delete=true, at the partition's leader epoch) name a real
//! epoch, and their answers change nothing here. A topic with a replica
//! on a dead broker waits to start until the broker is back, as Kafka
//! marks it ineligible. While its replicas are being deleted, a topic's
//! partitions are told to nobody (a broker that comes back hears nothing
//! of them but the StopReplica).

use crate::collections::{Map, Set};

use super::{BrokerId, Controller, LeaderIsr, Output, PartitionView, LEADER_DURING_DELETE};
use crate::protocol::ErrorCode;
use crate::storage::TopicPartition;

/// Where one replica of a topic being deleted stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replica {
    /// StopReplica is owed (not sent yet, or sent to a broker that left
    /// before it answered): sent once the broker is live.
    Owed,
    /// StopReplica sent, no answer yet (`ReplicaDeletionStarted`).
    Started,
    /// Answered with an error (`ReplicaDeletionIneligible`): owed again at
    /// the next [`Controller::handle_retry_deletions`].
    Failed,
}

/// Per topic whose replicas are being deleted: each replica not deleted
/// yet.
pub(super) type Stopping = Map<String, Map<(BrokerId, TopicPartition), Replica>>;

impl Controller {
    /// The topics marked for deletion now (the children of
    /// `/admin/delete_topics`). A name the controller does not know is
    /// dropped ([`Output::DropDeletion`]), as Kafka drops it.
    pub fn handle_deletions(&mut self, topics: Set<String>) {
        if self.epoch.is_none() {
            return;
        }
        for topic in topics {
            if self.topic_ids.contains_key(&topic) {
                self.deleting.insert(topic);
            } else {
                self.outputs.push_back(Output::DropDeletion { topic });
            }
        }
        self.decide_all();
    }

    /// `broker` answered a StopReplica: each partition the request named,
    /// with its leader epoch there and its error (the request's error
    /// when that is not NONE). Partitions at [`LEADER_DURING_DELETE`] are
    /// a topic deletion's: deleted, or failed (retried at
    /// [`Controller::handle_retry_deletions`]); others are ignored.
    pub fn handle_stop_replica_answered(
        &mut self,
        broker: BrokerId,
        answers: Vec<(TopicPartition, i32, ErrorCode)>,
    ) {
        if self.epoch.is_none() {
            return;
        }
        for (tp, epoch, code) in answers {
            if epoch != LEADER_DURING_DELETE {
                continue;
            }
            let Some(replicas) = self.stopping.get_mut(&tp.topic) else {
                continue;
            };
            let key = (broker, tp);
            if replicas.get(&key) != Some(&Replica::Started) {
                continue;
            }
            if code == ErrorCode::NONE {
                replicas.remove(&key);
            } else {
                replicas.insert(key, Replica::Failed);
            }
        }
        self.decide_all();
    }

    /// Replicas whose deletion failed are tried again (Kafka retries them
    /// when the topic is eligible again; the driver calls this after a
    /// pause once an answer carried an error).
    pub fn handle_retry_deletions(&mut self) {
        if self.epoch.is_none() {
            return;
        }
        for r in self.stopping.values_mut().flat_map(|m| m.values_mut()) {
            if *r == Replica::Failed {
                *r = Replica::Owed;
            }
        }
        self.decide_all();
    }

    /// `broker` registered again without leaving the live set this
    /// machine was given: the driver's channel to it is new, and the
    /// requests queued on the old one are lost, so the StopReplica its
    /// replicas of deleted topics wait for is sent again (Kafka treats a
    /// bounced broker as one that failed and started).
    pub fn handle_broker_restarted(&mut self, broker: BrokerId) {
        if self.epoch.is_none() {
            return;
        }
        for ((b, _), r) in self.stopping.values_mut().flat_map(|m| m.iter_mut()) {
            if *b == broker && *r == Replica::Started {
                *r = Replica::Owed;
            }
        }
        self.decide_all();
    }

    /// The topics marked for deletion and not deleted yet.
    pub fn deleting(&self) -> &Set<String> {
        &self.deleting
    }

    /// Whether any replica of a topic being deleted failed and waits for
    /// [`Controller::handle_retry_deletions`].
    pub fn deletions_failed(&self) -> bool {
        self.stopping
            .values()
            .flat_map(|m| m.values())
            .any(|r| *r == Replica::Failed)
    }

    /// Starts the deletion of every marked topic that can be (no write in
    /// flight, every replica live), sends the StopReplica owed to live
    /// brokers, and completes the topics with every replica deleted.
    pub(super) fn delete_ready(&mut self) {
        let ready: Vec<String> = self
            .deleting
            .iter()
            .filter(|t| !self.stopping.contains_key(*t))
            .filter(|t| !self.reassigning(t))
            .filter(|t| {
                self.partitions
                    .iter()
                    .filter(|(tp, _)| &tp.topic == *t)
                    .all(|(_, p)| !p.busy && p.replicas.iter().all(|r| self.live.contains(r)))
            })
            .cloned()
            .collect();
        for topic in ready {
            self.start_deletion(&topic);
        }
        let mut stops: Map<BrokerId, Vec<(TopicPartition, i32)>> = Map::new();
        for ((broker, tp), r) in self.stopping.values_mut().flat_map(|m| m.iter_mut()) {
            match *r {
                Replica::Owed if self.live.contains(broker) => {
                    *r = Replica::Started;
                    stops
                        .entry(*broker)
                        .or_default()
                        .push((tp.clone(), LEADER_DURING_DELETE));
                }
                // Its channel is gone, and the request with it.
                Replica::Started if !self.live.contains(broker) => *r = Replica::Owed,
                _ => {}
            }
        }
        for (broker, partitions) in stops {
            self.outputs.push_back(Output::StopReplica {
                broker,
                partitions,
                delete: true,
            });
        }
        let done: Vec<String> = self
            .stopping
            .iter()
            .filter(|(_, m)| m.is_empty())
            .map(|(t, _)| t.clone())
            .collect();
        for topic in done {
            self.complete_deletion(&topic);
        }
    }

    /// Tells every live broker the topic's partitions are being deleted
    /// and owes every replica a StopReplica.
    fn start_deletion(&mut self, topic: &str) {
        let id = self.topic_ids.get(topic).copied().unwrap_or_default();
        let gone: Vec<(&TopicPartition, &super::Partition)> = self
            .partitions
            .iter()
            .filter(|(tp, _)| tp.topic == topic)
            .collect();
        let views: Vec<PartitionView> = gone
            .iter()
            .map(|(tp, p)| {
                let stored = p.stored.as_ref();
                PartitionView {
                    tp: (*tp).clone(),
                    topic_id: id,
                    state: LeaderIsr {
                        leader: LEADER_DURING_DELETE,
                        leader_epoch: LEADER_DURING_DELETE,
                        isr: stored.map(|s| s.state.isr.clone()).unwrap_or_default(),
                        controller_epoch: self.epoch.unwrap_or_default(),
                    },
                    version: stored.map_or(0, |s| s.version),
                    replicas: p.replicas.clone(),
                    offline: Vec::new(),
                    adding: Vec::new(),
                    removing: Vec::new(),
                }
            })
            .collect();
        let replicas: Map<(BrokerId, TopicPartition), Replica> = gone
            .iter()
            .flat_map(|(tp, p)| {
                p.replicas
                    .iter()
                    .map(|&b| ((b, (*tp).clone()), Replica::Owed))
            })
            .collect();
        for &broker in &self.live {
            self.outputs.push_back(Output::UpdateMetadata {
                broker,
                partitions: views.clone(),
            });
        }
        self.stopping.insert(topic.to_string(), replicas);
    }

    /// Every replica is deleted: forgets the topic, and asks for its
    /// znodes to go.
    fn complete_deletion(&mut self, topic: &str) {
        self.stopping.remove(topic);
        self.topic_ids.remove(topic);
        self.partitions.retain(|tp, _| tp.topic != topic);
        self.changed.retain(|tp| tp.topic != topic);
        self.notified.retain(|tp| tp.topic != topic);
        self.deleting.remove(topic);
        self.outputs.push_back(Output::TopicDeleted {
            topic: topic.to_string(),
        });
    }
}
