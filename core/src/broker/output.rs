//! What the broker asks of its driver: [`Output`].

use bytes::Bytes;

use super::{ConnId, ControllerAsk};
use crate::state::assignment::{NewPartitions, NewTopic};
use crate::storage::TopicPartition;

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Write these chunks, in order, to the connection (one response frame,
    /// size prefix included).
    Response {
        /// The connection.
        conn: ConnId,
        /// The frame, in pieces (record data is not copied into a buffer).
        chunks: Vec<Bytes>,
    },
    /// Close the connection.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why, for the log.
        reason: String,
    },
    /// Change the ISR of a partition led here (ZooKeeper mode): write its
    /// state znode as `leader`, `leader_epoch`, `isr` and
    /// `controller_epoch` only if it is still at `version`, and tell the
    /// controller (Kafka's ISR change notification); report with
    /// [`Broker::handle_isr_written`](super::Broker::handle_isr_written). Until then the ISR is unchanged.
    WriteIsr {
        /// The partition.
        tp: TopicPartition,
        /// This broker.
        leader: i32,
        /// The leader epoch it leads at.
        leader_epoch: i32,
        /// The new ISR.
        isr: Vec<i32>,
        /// The epoch of the controller whose LeaderAndIsr it leads by.
        controller_epoch: i32,
        /// The znode version the write is conditional on.
        version: i32,
    },
    /// Create these topics in ZooKeeper (ZooKeeper mode only): for each,
    /// write its configs to `/config/topics/<name>`, then its assignment
    /// and id to `/brokers/topics/<name>` (only if absent), and report
    /// every topic's outcome with [`Broker::handle_topics_created`](super::Broker::handle_topics_created) and
    /// this `request`. A CreateTopics request, or a Metadata request that
    /// auto-created topics, asked for it; the controller, watching
    /// `/brokers/topics`, elects the leaders.
    CreateTopics {
        /// What to report back with.
        request: u64,
        /// The topics, each with its id, assignment and the configs the
        /// request set.
        topics: Vec<NewTopic>,
    },
    /// Add partitions to these topics in ZooKeeper (ZooKeeper mode only):
    /// for each, rewrite `/brokers/topics/<name>` with its whole new
    /// assignment, conditionally on the version read, and only while it
    /// still holds `existing` partitions (INVALID_PARTITIONS otherwise;
    /// UNKNOWN_TOPIC_OR_PARTITION when it is gone), and report every
    /// topic's outcome with
    /// [`Broker::handle_topics_created`](super::Broker::handle_topics_created)
    /// and this `request`. A CreatePartitions on the controller asked for
    /// it; the controller, watching the topic's znode, elects the new
    /// partitions' leaders.
    CreatePartitions {
        /// What to report back with.
        request: u64,
        /// The topics.
        topics: Vec<NewPartitions>,
    },
    /// Make `configs` topic `topic`'s whole config set in ZooKeeper
    /// (ZooKeeper mode only): write `/config/topics/<topic>`, then leave a
    /// change notification under `/config/changes` (Kafka's
    /// `AdminZkClient.changeTopicConfig`), from which every broker,
    /// this one included, reads the topic's configs again
    /// ([`Broker::handle_topic_configs`](super::Broker::handle_topic_configs)).
    /// An AlterConfigs or IncrementalAlterConfigs asked for it; it was
    /// answered already.
    WriteTopicConfigs {
        /// The topic.
        topic: String,
        /// Its configs, by name.
        configs: Vec<(String, String)>,
    },
    /// Make `configs` the whole set of dynamic configs of broker `broker`
    /// (`None`: the cluster-wide default) in ZooKeeper (ZooKeeper mode
    /// only): write `/config/brokers/<id>` (`/config/brokers/<default>`),
    /// creating it if need be, then leave a change notification under
    /// `/config/changes` (Kafka's `AdminZkClient.changeBrokerConfig`),
    /// from which every broker, this one included, reads them again
    /// ([`Broker::handle_broker_configs`](super::Broker::handle_broker_configs)).
    /// An AlterConfigs or IncrementalAlterConfigs asked for it; it was
    /// answered already.
    WriteBrokerConfigs {
        /// This broker's id, or `None` for the cluster-wide default.
        broker: Option<i32>,
        /// The configs, by name.
        configs: Vec<(String, String)>,
    },
    /// Mark these topics for deletion in ZooKeeper (ZooKeeper mode only):
    /// create `/admin/delete_topics/<name>` for each (one already there
    /// is fine: it is being deleted). A DeleteTopics request on the
    /// controller asked for it; the controller, watching
    /// `/admin/delete_topics`, deletes them, and the request is answered
    /// when this broker's metadata no longer has them. Nothing is
    /// reported back: a write that fails leaves the request to time out.
    DeleteTopics {
        /// The topics.
        topics: Vec<String>,
    },
    /// Send this request to broker `leader` (ZooKeeper mode: the follower
    /// fetching from a partition's leader) over the driver's one outbound
    /// connection to it, opening it to `host`:`port` if need be, then read
    /// one response frame and give it to [`Broker::handle_replica_response`](super::Broker::handle_replica_response)
    /// (or say [`Broker::handle_replica_failure`](super::Broker::handle_replica_failure)). The broker sends at most
    /// one request per leader at a time.
    Replica {
        /// The leader's broker id.
        leader: i32,
        /// Its host, as its registration (UpdateMetadata) names it.
        host: String,
        /// Its port.
        port: i32,
        /// A whole request frame, size prefix included.
        frame: Bytes,
    },
    /// Send this WriteTxnMarkers request to broker `broker` (ZooKeeper
    /// mode: the transaction coordinator's markers for partitions led
    /// there) over the driver's outbound marker connection to it (not the
    /// replica fetcher's, which holds long-polled fetches), opening it to
    /// `host`:`port` if need be, then read one response frame and give it
    /// to [`Broker::handle_markers_response`](super::Broker::handle_markers_response)
    /// (or say [`Broker::handle_markers_failure`](super::Broker::handle_markers_failure)).
    /// Requests to one broker are sent and answered in order.
    TxnMarkers {
        /// The partition leader's broker id.
        broker: i32,
        /// Its host, as its registration (UpdateMetadata) names it.
        host: String,
        /// Its port.
        port: i32,
        /// A whole request frame, size prefix included.
        frame: Bytes,
    },
    /// Write these ACL or SCRAM credential changes to ZooKeeper
    /// (ZooKeeper mode), as Kafka's `AclAuthorizer` and `ZkAdminManager`
    /// write them: each ACL update rewrites its resource pattern's znode
    /// conditionally on the version read (deleting it when no ACL is
    /// left) and leaves an ACL change notification; each SCRAM update
    /// rewrites the user's config znode and leaves a config change
    /// notification. Then tell the broker what each changed znode holds
    /// ([`Broker::handle_resource_acls`](super::Broker::handle_resource_acls),
    /// [`Broker::handle_user_scram`](super::Broker::handle_user_scram))
    /// and report each update's outcome with
    /// [`Broker::handle_security_written`](super::Broker::handle_security_written):
    /// the request on `conn` is held until then.
    WriteSecurity {
        /// The connection whose request asks.
        conn: ConnId,
        /// The changes.
        write: super::SecurityWrite,
    },
    /// Give `ask` to the controller (ZooKeeper mode): the request on
    /// `conn` is held until the driver reports with
    /// [`Broker::handle_controller_answer`](super::Broker::handle_controller_answer).
    AskController {
        /// The connection whose request asks.
        conn: ConnId,
        /// What it asks.
        ask: ControllerAsk,
    },
}
