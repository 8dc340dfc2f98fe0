//! The controller: every change to topics, partitions and their configs is
//! a record written to `__cluster_metadata` first and applied to the image
//! second, so the image is always what the log says (Kafka's KRaft
//! controller, for a cluster of one).
//!
//! A [`Controller`] borrows what a change needs: the image, the storage
//! holding the metadata log and the id generator. Errors are Kafka's, for
//! the caller's response: a record that cannot be written is
//! KAFKA_STORAGE_ERROR (UNKNOWN_SERVER_ERROR when it cannot even be
//! encoded), and nothing is applied.

use super::cluster::{
    metadata_tp, valid_topic_name, Change, Cluster, MAX_PARTITIONS, METADATA_TOPIC, OFFSETS_TOPIC,
    TRANSACTION_STATE_TOPIC,
};
use super::configs::RESOURCE_TOPIC;
use super::ids::Ids;
use super::internal_log::{self, InternalRecord, WriteError};
use super::Now;
use crate::protocol::messages::metadata::{
    config_record::ConfigRecord, partition_record::PartitionRecord,
    remove_topic_record::RemoveTopicRecord, topic_record::TopicRecord,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::storage::{Storage, TopicPartition};

/// What changing the metadata borrows.
#[derive(Debug)]
pub(crate) struct Controller<'a, S> {
    pub cluster: &'a mut Cluster,
    pub storage: &'a mut S,
    pub ids: &'a mut Ids,
}

/// Writes `changes` to the metadata log as one batch.
pub(crate) fn write_changes<S: Storage>(
    storage: &mut S,
    changes: &[Change],
    now: Now,
) -> Result<(), WriteError> {
    let records = changes
        .iter()
        .map(|c| Ok((None, Some(c.encode()?))))
        .collect::<Result<Vec<InternalRecord>, crate::protocol::EncodeError>>()
        .map_err(|e| WriteError::Build(e.to_string()))?;
    internal_log::append(storage, &metadata_tp(), &records, now)
}

/// The error a client gets for a metadata record that was not written.
pub(crate) fn write_error(e: WriteError) -> ErrorCode {
    match e {
        WriteError::Build(_) => ErrorCode::UNKNOWN_SERVER_ERROR,
        WriteError::Storage(_) => ErrorCode::KAFKA_STORAGE_ERROR,
    }
}

impl<S: Storage> Controller<'_, S> {
    /// Creates a topic with `partitions` partitions and explicit `configs`,
    /// writing it to the metadata log. Returns its id.
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        configs: &[(String, String)],
        now: Now,
    ) -> Result<Uuid, ErrorCode> {
        if !valid_topic_name(name) {
            return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
        }
        if name == METADATA_TOPIC {
            return Err(ErrorCode::INVALID_REQUEST);
        }
        if partitions > MAX_PARTITIONS {
            return Err(ErrorCode::POLICY_VIOLATION);
        }
        if self.cluster.topics.contains_key(name) {
            return Err(ErrorCode::TOPIC_ALREADY_EXISTS);
        }
        if partitions < 1 {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        self.clear_stray_logs(name, 0..partitions)?;
        let id = self.ids.uuid();
        let mut changes = vec![Change::Topic(TopicRecord {
            name: name.into(),
            topic_id: id,
            ..Default::default()
        })];
        for p in 0..partitions {
            changes.push(self.partition_record(id, p, 0));
        }
        for (k, v) in configs {
            changes.push(Change::Config(ConfigRecord {
                resource_type: RESOURCE_TOPIC,
                resource_name: name.into(),
                name: k.as_str().into(),
                value: Some(v.as_str().into()),
                ..Default::default()
            }));
        }
        self.commit(&changes, now)?;
        for p in 0..partitions {
            self.storage
                .create_log(&TopicPartition::new(name, p), id)
                .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
        }
        Ok(id)
    }

    /// Logs of partitions about to be created that storage still holds (a
    /// topic of that name was deleted but its logs could not be): deleted
    /// first, so the new topic starts empty.
    fn clear_stray_logs(
        &mut self,
        name: &str,
        partitions: std::ops::Range<i32>,
    ) -> Result<(), ErrorCode> {
        let logs = self.storage.logs();
        for p in partitions {
            let tp = TopicPartition::new(name, p);
            if logs.contains(&tp) {
                self.storage
                    .delete_log(&tp)
                    .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
            }
        }
        Ok(())
    }

    /// A PartitionRecord naming this broker as leader and only replica.
    fn partition_record(&self, topic_id: Uuid, partition: i32, leader_epoch: i32) -> Change {
        let node = self.cluster.config().node_id;
        Change::Partition(PartitionRecord {
            partition_id: partition,
            topic_id,
            replicas: vec![node].into(),
            isr: vec![node].into(),
            leader: node,
            leader_epoch,
            partition_epoch: 0,
            ..Default::default()
        })
    }

    /// Deletes a topic, then its logs. The topic is gone once its
    /// RemoveTopicRecord is written, as in Kafka, where logs are deleted
    /// afterwards: a log that cannot be deleted now is deleted before a
    /// topic of the same name is created.
    pub fn delete_topic(&mut self, name: &str, now: Now) -> Result<Uuid, ErrorCode> {
        let Some(t) = self.cluster.topics.get(name) else {
            return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        };
        let (id, n) = (t.id, t.partitions.len() as i32);
        self.commit(
            &[Change::RemoveTopic(RemoveTopicRecord {
                topic_id: id,
                ..Default::default()
            })],
            now,
        )?;
        for p in 0..n {
            let _ = self.storage.delete_log(&TopicPartition::new(name, p));
        }
        Ok(id)
    }

    /// Grows topic `name` to `count` partitions: a PartitionRecord (leader
    /// epoch 0) for each new partition, then its log.
    pub fn add_partitions(&mut self, name: &str, count: i32, now: Now) -> Result<(), ErrorCode> {
        let Some(t) = self.cluster.topics.get(name) else {
            return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        };
        let (id, from) = (t.id, t.partitions.len() as i32);
        if count <= from {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        self.clear_stray_logs(name, from..count)?;
        let changes: Vec<Change> = (from..count)
            .map(|p| self.partition_record(id, p, 0))
            .collect();
        self.commit(&changes, now)?;
        for p in from..count {
            self.storage
                .create_log(&TopicPartition::new(name, p), id)
                .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
        }
        Ok(())
    }

    /// Creates `__consumer_offsets` if it does not exist yet, with
    /// `offsets.topic.num.partitions` partitions and Kafka's configs for it (compacted,
    /// producer compression, 100 MiB segments). COORDINATOR_NOT_AVAILABLE
    /// when it cannot be, as Kafka answers while the topic is missing.
    ///
    /// In ZooKeeper mode the topic is the cluster's, created through the
    /// driver on FindCoordinator (`api::find_coordinator`), never here:
    /// until the controller has named it, COORDINATOR_NOT_AVAILABLE.
    pub fn ensure_offsets_topic(&mut self, now: Now) -> Result<(), ErrorCode> {
        if self.cluster.topics.contains_key(OFFSETS_TOPIC) {
            return Ok(());
        }
        if self.cluster.config().zk() {
            return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        let configs = offsets_topic_configs();
        let partitions = self.cluster.config().groups.offsets_partitions;
        self.create_topic(OFFSETS_TOPIC, partitions, &configs, now)
            .map(|_| ())
            .map_err(|_| ErrorCode::COORDINATOR_NOT_AVAILABLE)
    }

    /// Creates `__transaction_state` if it does not exist yet (Kafka creates
    /// it on the first FindCoordinator for a transactional id): compacted,
    /// with `transaction.state.log.num.partitions` partitions.
    ///
    /// In ZooKeeper mode the topic is the cluster's, created through the
    /// driver on FindCoordinator (`api::find_coordinator`), never here.
    pub fn ensure_transaction_topic(&mut self, now: Now) -> Result<(), ErrorCode> {
        if self.cluster.topics.contains_key(TRANSACTION_STATE_TOPIC) {
            return Ok(());
        }
        if self.cluster.config().zk() {
            return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        let configs = [
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("compression.type".to_string(), "uncompressed".to_string()),
            ("segment.bytes".to_string(), "104857600".to_string()),
        ];
        let partitions = self.cluster.config().transactions.state_log_partitions;
        self.create_topic(TRANSACTION_STATE_TOPIC, partitions, &configs, now)
            .map(|_| ())
            .map_err(|_| ErrorCode::COORDINATOR_NOT_AVAILABLE)
    }

    /// Writes changes to the metadata log, then applies them.
    pub fn commit(&mut self, changes: &[Change], now: Now) -> Result<(), ErrorCode> {
        write_changes(self.storage, changes, now).map_err(write_error)?;
        for c in changes {
            self.cluster.apply(c);
        }
        Ok(())
    }
}

/// Kafka's configs of `__consumer_offsets` (`GroupMetadataManager
/// .offsetsTopicConfigs`): compacted, the producer's compression, 100 MiB
/// segments.
pub(crate) fn offsets_topic_configs() -> [(String, String); 3] {
    [
        ("cleanup.policy".to_string(), "compact".to_string()),
        ("compression.type".to_string(), "producer".to_string()),
        ("segment.bytes".to_string(), "104857600".to_string()),
    ]
}
