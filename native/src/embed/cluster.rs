//! [`Cluster`]: several [`Broker`]s in this process, members of one
//! ZooKeeper-mode cluster, so that a test can move a partition's leader
//! and watch its client follow, as franz-go's `kfake` offers with
//! `MoveTopicPartition`.
//!
//! The brokers are the ones `spate serve` runs with `zookeeper.connect`:
//! they register in ZooKeeper, elect a controller there and replicate
//! each other's partitions over the Kafka protocol. ZooKeeper itself is
//! the caller's (a server the test starts; Spate has no ZooKeeper of its
//! own). A leader moves the way an operator moves one in Kafka: a
//! partition reassignment that puts the new leader first among the
//! replicas (AlterPartitionReassignments), then a preferred leader
//! election (ElectLeaders), both sent to the controller. Clients see what
//! they see in Kafka: NOT_LEADER_OR_FOLLOWER from the old leader, then a
//! Metadata with the new one and a higher leader epoch.
//!
//! The controller's id is looked up once (two Metadata requests: any
//! broker names it, then it confirms) and remembered; it is looked up
//! again only when the broker remembered answers NOT_CONTROLLER (or its
//! Metadata names another controller) or is gone.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use spate_core::protocol::messages::alter_partition_reassignments_request::{
    AlterPartitionReassignmentsRequest, ReassignablePartition, ReassignableTopic,
};
use spate_core::protocol::messages::elect_leaders_request::{ElectLeadersRequest, TopicPartitions};
use spate_core::protocol::messages::list_partition_reassignments_request::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsTopics,
};
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::metadata_response::MetadataResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use super::{Broker, BrokerConfig, Error, Topic};

/// How long the cluster may take to form, to create a topic or to move a
/// leader.
const SETTLE: Duration = Duration::from_secs(30);

/// How often a wait asks again.
const POLL: Duration = Duration::from_millis(50);

/// What a [`Cluster`] is started with.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// How many brokers (ids 1 to N; default 3).
    pub brokers: u16,
    /// ZooKeeper's `zookeeper.connect` (`host:port[/chroot]`). A chroot of
    /// its own keeps one cluster's znodes from another's.
    pub zookeeper: String,
    /// Topics created before [`Cluster::start`] returns, each with
    /// `replication_factor` replicas.
    pub topics: Vec<Topic>,
    /// Replicas of each topic `topics` names, and the cluster's
    /// `default.replication.factor` (default: the number of brokers, at
    /// most 3).
    pub replication_factor: Option<i16>,
    /// Other broker properties, given to every broker (as
    /// [`BrokerConfig::properties`]).
    pub properties: Vec<(String, String)>,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            brokers: 3,
            zookeeper: String::new(),
            topics: Vec::new(),
            replication_factor: None,
            properties: Vec::new(),
        }
    }
}

/// Brokers of one cluster running in this process. Close it with
/// [`Cluster::close`]; dropping it stops the brokers without waiting.
#[derive(Debug)]
pub struct Cluster {
    brokers: Vec<(i32, Broker)>,
    /// The controller's id once found; [`NO_CONTROLLER`] before, and after
    /// it answered NOT_CONTROLLER or went.
    controller: AtomicI32,
}

/// No controller remembered.
const NO_CONTROLLER: i32 = -1;

impl Cluster {
    /// Starts `config.brokers` brokers in the current tokio runtime and
    /// returns once each of them sees all of them and a controller, and
    /// every partition of `config.topics` has a leader.
    pub async fn start(config: ClusterConfig) -> Result<Cluster, Error> {
        if config.brokers == 0 {
            return Err(Error::msg("a cluster needs at least one broker".into()));
        }
        if config.zookeeper.trim().is_empty() {
            return Err(Error::msg(
                "a cluster needs ZooKeeper: set ClusterConfig::zookeeper".into(),
            ));
        }
        let rf = config
            .replication_factor
            .unwrap_or(config.brokers.min(3) as i16);
        if rf < 1 || rf as u16 > config.brokers {
            return Err(Error::msg(format!(
                "replication factor {rf} with {} brokers",
                config.brokers
            )));
        }
        let mut cluster = Cluster {
            brokers: Vec::new(),
            controller: AtomicI32::new(NO_CONTROLLER),
        };
        for id in 1..=i32::from(config.brokers) {
            let mut properties = vec![
                ("zookeeper.connect".to_string(), config.zookeeper.clone()),
                ("broker.id".to_string(), id.to_string()),
                ("default.replication.factor".to_string(), rf.to_string()),
            ];
            properties.extend(config.properties.iter().cloned());
            let broker = Broker::start(BrokerConfig {
                properties,
                ..BrokerConfig::default()
            })
            .await?;
            cluster.brokers.push((id, broker));
        }
        let n = usize::from(config.brokers);
        cluster
            .settle("every broker to see the whole cluster", |m| {
                m.brokers.len() == n && m.controller_id >= 0
            })
            .await?;
        if !config.topics.is_empty() {
            cluster.create_topics(&config.topics, rf).await?;
        }
        Ok(cluster)
    }

    /// Every broker's `HOST:PORT`, comma-separated: Kafka clients'
    /// `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        let all: Vec<String> = self.brokers.iter().map(|(_, b)| b.bootstrap()).collect();
        all.join(",")
    }

    /// The broker with id `id`, for its faults and controls.
    pub fn broker(&self, id: i32) -> Option<&Broker> {
        self.brokers.iter().find(|(i, _)| *i == id).map(|(_, b)| b)
    }

    /// The brokers' ids.
    pub fn ids(&self) -> Vec<i32> {
        self.brokers.iter().map(|(i, _)| *i).collect()
    }

    /// The leader of `partition` of `topic`, as the controller says.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<i32, Error> {
        let m = self.controller_metadata(Some(topic)).await?;
        Ok(placement(&m, topic, partition)?.0)
    }

    /// Makes broker `to` the leader of `partition` of `topic`: a
    /// reassignment with `to` first among the replicas (it replaces the
    /// last replica when it is not one; the replication factor stays),
    /// waited out, then a preferred leader election. Returns once every
    /// broker's metadata names `to` as the leader.
    pub async fn move_leader(&self, topic: &str, partition: i32, to: i32) -> Result<(), Error> {
        if self.broker(to).is_none() {
            return Err(Error::msg(format!("no broker {to} in this cluster")));
        }
        let m = self.controller_metadata(Some(topic)).await?;
        let (leader, replicas) = placement(&m, topic, partition)?;
        if leader == to {
            return Ok(());
        }
        if replicas.first() != Some(&to) {
            let mut moved: Vec<i32> = std::iter::once(to)
                .chain(replicas.iter().copied().filter(|&r| r != to))
                .collect();
            moved.truncate(replicas.len().max(1));
            self.reassign(topic, partition, moved).await?;
        }
        self.elect_preferred(topic, partition).await?;
        let what = format!("broker {to} to lead {topic}-{partition}");
        self.settle(&what, |m| {
            placement(m, topic, partition).is_ok_and(|(l, _)| l == to)
        })
        .await
    }

    /// Stops every broker: requests already received are answered, then
    /// logs are flushed. Leadership is not moved first (Kafka's controlled
    /// shutdown): with every broker going, the last ones would find no one
    /// to take it and wait out three tries, 5 s apart. Closing again does
    /// nothing.
    pub async fn close(&mut self) -> Result<(), Error> {
        let mut first = Ok(());
        for (_, b) in self.brokers.iter_mut().rev() {
            if let Err(e) = b.close_with_cluster().await {
                first = first.and(Err(e));
            }
        }
        first
    }

    /// The controller's Metadata of `topic` (every topic when `None`).
    /// When it names another controller, the one remembered is forgotten
    /// and the one found anew is asked.
    async fn controller_metadata(&self, topic: Option<&str>) -> Result<MetadataResponse, Error> {
        let (id, c) = self.controller().await?;
        let first = metadata(c, topic).await;
        let stale = match &first {
            Ok(m) => m.controller_id != id,
            Err(_) => !self.runs(id),
        };
        if !stale {
            return first;
        }
        self.forget_controller(id);
        let (_, c) = self.controller().await?;
        metadata(c, topic).await
    }

    /// The controller's id and broker: the one remembered while it runs,
    /// else the one the first broker names, as it names itself (two
    /// Metadata requests), then remembered.
    async fn controller(&self) -> Result<(i32, &Broker), Error> {
        let known = self.controller.load(Ordering::Acquire);
        if let Some(b) = self.broker(known).filter(|_| self.runs(known)) {
            return Ok((known, b));
        }
        let none = || Error::msg("the cluster has no controller".into());
        let (_, any) = self.brokers.first().expect("at least one broker");
        let named = metadata(any, None).await?.controller_id;
        let c = self.broker(named).ok_or_else(none)?;
        let id = metadata(c, None).await?.controller_id;
        let b = self.broker(id).ok_or_else(none)?;
        self.controller.store(id, Ordering::Release);
        Ok((id, b))
    }

    /// Whether broker `id` is one of the cluster's and runs.
    fn runs(&self, id: i32) -> bool {
        self.broker(id).is_some_and(|b| b.running().is_ok())
    }

    /// Forgets controller `id`, unless another was found meanwhile.
    fn forget_controller(&self, id: i32) {
        let _ = self.controller.compare_exchange(
            id,
            NO_CONTROLLER,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Sends `body` at `version` to the controller; when the one
    /// remembered answers NOT_CONTROLLER or is gone, once more to the one
    /// found anew.
    async fn controller_request(
        &self,
        body: RequestBody,
        version: i16,
    ) -> Result<ResponseBody, Error> {
        let (id, c) = self.controller().await?;
        let first = c.own_request(body.clone(), version).await;
        let stale = match &first {
            Ok(r) => not_controller(r),
            Err(_) => !self.runs(id),
        };
        if !stale {
            return first;
        }
        self.forget_controller(id);
        let (_, c) = self.controller().await?;
        c.own_request(body, version).await
    }

    /// Waits until `ok` holds for every broker's Metadata (of every topic).
    async fn settle(
        &self,
        what: &str,
        ok: impl Fn(&MetadataResponse) -> bool,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let mut all = true;
            for (_, b) in &self.brokers {
                all &= metadata(b, None).await.is_ok_and(|m| ok(&m));
            }
            if all {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::msg(format!("waited {SETTLE:?} for {what} in vain")));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Creates `topics` at the controller, `rf` replicas each, and waits
    /// until every broker knows a leader of each partition.
    async fn create_topics(&self, topics: &[Topic], rf: i16) -> Result<(), Error> {
        let (_, controller) = self.controller().await?;
        controller.create_topics(topics, rf).await?;
        self.settle("the topics' leaders", |m| {
            topics.iter().all(|t| {
                (0..t.partitions).all(|p| placement(m, &t.name, p).is_ok_and(|(l, _)| l >= 0))
            })
        })
        .await
    }

    /// Reassigns `partition` of `topic` to `replicas` and waits until the
    /// controller no longer lists the move.
    async fn reassign(&self, topic: &str, partition: i32, replicas: Vec<i32>) -> Result<(), Error> {
        let body = RequestBody::AlterPartitionReassignments(AlterPartitionReassignmentsRequest {
            timeout_ms: SETTLE.as_millis() as i32,
            topics: vec![ReassignableTopic {
                name: topic.into(),
                partitions: vec![ReassignablePartition {
                    partition_index: partition,
                    replicas: Some(replicas.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let ResponseBody::AlterPartitionReassignments(r) = self.controller_request(body, 0).await?
        else {
            return Err(Error::msg(
                "AlterPartitionReassignments answered with another API".into(),
            ));
        };
        let codes = std::iter::once((r.error_code, r.error_message.clone())).chain(
            r.responses
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| (p.error_code, p.error_message.clone())),
        );
        for (code, message) in codes {
            if code != 0 {
                let why = message.as_deref().unwrap_or("");
                return Err(Error::msg(format!(
                    "reassigning {topic}-{partition}: {} {why}",
                    ErrorCode(code)
                )));
            }
        }
        let deadline = Instant::now() + SETTLE;
        loop {
            let body = RequestBody::ListPartitionReassignments(ListPartitionReassignmentsRequest {
                timeout_ms: SETTLE.as_millis() as i32,
                topics: Some(vec![ListPartitionReassignmentsTopics {
                    name: topic.into(),
                    partition_indexes: vec![partition].into(),
                    ..Default::default()
                }]),
                ..Default::default()
            });
            let ResponseBody::ListPartitionReassignments(r) =
                self.controller_request(body, 0).await?
            else {
                return Err(Error::msg(
                    "ListPartitionReassignments answered with another API".into(),
                ));
            };
            if r.error_code == 0 && r.topics.iter().all(|t| t.partitions.is_empty()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::msg(format!(
                    "the reassignment of {topic}-{partition} did not finish in {SETTLE:?}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A preferred leader election of `partition` of `topic` at the
    /// controller; ELECTION_NOT_NEEDED is no error.
    async fn elect_preferred(&self, topic: &str, partition: i32) -> Result<(), Error> {
        let body = RequestBody::ElectLeaders(ElectLeadersRequest {
            election_type: 0,
            topic_partitions: Some(vec![TopicPartitions {
                topic: topic.into(),
                partitions: vec![partition].into(),
                ..Default::default()
            }]),
            timeout_ms: SETTLE.as_millis() as i32,
            ..Default::default()
        });
        let ResponseBody::ElectLeaders(r) = self.controller_request(body, 1).await? else {
            return Err(Error::msg("ElectLeaders answered with another API".into()));
        };
        let parts = r
            .replica_election_results
            .iter()
            .flat_map(|t| &t.partition_result);
        let codes = std::iter::once((r.error_code, None))
            .chain(parts.map(|p| (p.error_code, p.error_message.clone())));
        for (code, message) in codes {
            let code = ErrorCode(code);
            if code != ErrorCode::NONE && code != ErrorCode::ELECTION_NOT_NEEDED {
                let why = message.as_deref().unwrap_or("");
                return Err(Error::msg(format!(
                    "electing the leader of {topic}-{partition}: {code} {why}"
                )));
            }
        }
        Ok(())
    }
}

/// `broker`'s Metadata of `topic` (every topic when `None`).
async fn metadata(broker: &Broker, topic: Option<&str>) -> Result<MetadataResponse, Error> {
    let body = RequestBody::Metadata(MetadataRequest {
        topics: topic.map(|t| {
            vec![MetadataRequestTopic {
                name: Some(t.into()),
                ..Default::default()
            }]
        }),
        allow_auto_topic_creation: false,
        ..Default::default()
    });
    match broker.own_request(body, 9).await? {
        ResponseBody::Metadata(m) => Ok(m),
        _ => Err(Error::msg("Metadata answered with another API".into())),
    }
}

/// Whether `r` says its broker is not the controller, at the top or for
/// any topic or partition.
fn not_controller(r: &ResponseBody) -> bool {
    let nc = ErrorCode::NOT_CONTROLLER.0;
    match r {
        ResponseBody::AlterPartitionReassignments(r) => {
            r.error_code == nc
                || r.responses
                    .iter()
                    .flat_map(|t| &t.partitions)
                    .any(|p| p.error_code == nc)
        }
        ResponseBody::ListPartitionReassignments(r) => r.error_code == nc,
        ResponseBody::ElectLeaders(r) => {
            r.error_code == nc
                || r.replica_election_results
                    .iter()
                    .flat_map(|t| &t.partition_result)
                    .any(|p| p.error_code == nc)
        }
        _ => false,
    }
}

/// The leader and replicas of `partition` of `topic` in `m`.
fn placement(m: &MetadataResponse, topic: &str, partition: i32) -> Result<(i32, Vec<i32>), Error> {
    let t = m
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some(topic))
        .ok_or_else(|| Error::msg(format!("no topic {topic}")))?;
    if t.error_code != 0 {
        return Err(Error::msg(format!(
            "topic {topic}: {}",
            ErrorCode(t.error_code)
        )));
    }
    let p = t
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| Error::msg(format!("no partition {topic}-{partition}")))?;
    Ok((p.leader_id, p.replica_nodes.to_vec()))
}
