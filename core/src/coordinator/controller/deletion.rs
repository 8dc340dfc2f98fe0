//! Topic deletion, Kafka 2.x's `TopicDeletionManager` in small: a topic
//! marked for deletion (`/admin/delete_topics/<topic>`, which the driver
//! lists in [`Controller::handle_deletions`]) gets no more partition
//! decisions; once none of its partitions has a write in flight and every
//! one of its replicas is on a live broker, the controller
//!
//! 1. tells every live broker in UpdateMetadata that its partitions are
//!    being deleted (leader [`LEADER_DURING_DELETE`]: each broker drops
//!    them from its metadata),
//! 2. sends StopReplica with delete=true to every broker that holds a
//!    replica (each deletes its logs),
//! 3. forgets the topic and asks the driver to remove its znodes
//!    ([`Output::TopicDeleted`]).
//!
//! Kafka waits for every StopReplica's answer before step 3, and retries
//! replicas that failed; here the driver's channels carry each request
//! until the broker takes it (or leaves the live set), in order with
//! whatever is sent to that broker later, so a topic created again under
//! the same name reaches each broker after its old logs were deleted. A
//! replica whose deletion fails (KAFKA_STORAGE_ERROR) is logged by the
//! channel, not retried. A topic with a replica on a dead broker waits
//! until the broker is back, as Kafka marks it ineligible.

use std::collections::BTreeSet;

use super::{Controller, LeaderIsr, Output, PartitionView, LEADER_DURING_DELETE};
use crate::storage::TopicPartition;

impl Controller {
    /// The topics marked for deletion now (the children of
    /// `/admin/delete_topics`). A name the controller does not know is
    /// dropped ([`Output::DropDeletion`]), as Kafka drops it.
    pub fn handle_deletions(&mut self, topics: BTreeSet<String>) {
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

    /// The topics marked for deletion and not deleted yet.
    pub fn deleting(&self) -> &BTreeSet<String> {
        &self.deleting
    }

    /// Deletes every marked topic that can be: no write in flight, every
    /// replica live.
    pub(super) fn delete_ready(&mut self) {
        let ready: Vec<String> = self
            .deleting
            .iter()
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
            self.delete_topic(&topic);
        }
    }

    fn delete_topic(&mut self, topic: &str) {
        let id = self.topic_ids.remove(topic).unwrap_or_default();
        let gone: Vec<(TopicPartition, super::Partition)> = self
            .partitions
            .iter()
            .filter(|(tp, _)| tp.topic == topic)
            .map(|(tp, p)| (tp.clone(), p.clone()))
            .collect();
        let views: Vec<PartitionView> = gone
            .iter()
            .map(|(tp, p)| {
                let stored = p.stored.as_ref();
                PartitionView {
                    tp: tp.clone(),
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
        for &broker in &self.live {
            self.outputs.push_back(Output::UpdateMetadata {
                broker,
                partitions: views.clone(),
            });
        }
        for &broker in &self.live {
            let hosted: Vec<(TopicPartition, i32)> = gone
                .iter()
                .filter(|(_, p)| p.replicas.contains(&broker))
                .map(|(tp, _)| (tp.clone(), LEADER_DURING_DELETE))
                .collect();
            if !hosted.is_empty() {
                self.outputs.push_back(Output::StopReplica {
                    broker,
                    partitions: hosted,
                    delete: true,
                });
            }
        }
        for (tp, _) in &gone {
            self.partitions.remove(tp);
            self.changed.remove(tp);
            self.notified.remove(tp);
        }
        self.deleting.remove(topic);
        self.outputs.push_back(Output::TopicDeleted {
            topic: topic.to_string(),
        });
    }
}
