//! Field descriptions written by the project, for the playground's details
//! pane and anyone explaining a frame.
//!
//! Kafka's field names repeat across APIs (`error_code` appears in more than
//! a hundred structs), so descriptions are keyed by field name and say what
//! the name means wherever it appears. Wire parts that are not schema fields
//! (length prefixes, array counts, tagged-field headers, record batch
//! fields) have entries too. [`describe`] returns `None` for a name the
//! table does not know; [`fallback`] then builds a sentence from the
//! schema's own facts (type, versions, what the value names).

use super::schema::FieldSpec;

/// The project's description of a field or wire part named `name`
/// (snake_case, as in the annotation tree), if it has one.
pub fn describe(name: &str) -> Option<&'static str> {
    let i = DOCS.binary_search_by(|(n, _)| n.cmp(&name)).ok()?;
    Some(DOCS[i].1)
}

/// A description made from the schema facts when [`describe`] has none.
pub fn fallback(f: &FieldSpec) -> String {
    let mut s = format!(
        "A {} field, present in versions {}",
        f.ty.display(),
        f.versions
    );
    if !f.nullable.is_empty() {
        s.push_str(&format!(", may be null in {}", f.nullable));
    }
    if !f.tagged.is_empty() {
        s.push_str(&format!(", tagged (tag {}) in {}", f.tag, f.tagged));
    }
    if let Some(e) = f.entity {
        s.push_str(&format!("; its value names a {e}"));
    }
    if let Some(d) = f.default {
        s.push_str(&format!("; default {d}"));
    }
    s.push('.');
    s
}

/// Names in byte order of their spelling, so [`describe`] can binary-search.
const DOCS: &[(&str, &str)] = &[
    ("acks", "How many replicas must have the records before the broker answers: 0 means no answer at all, 1 the leader only, -1 every in-sync replica."),
    ("allow_auto_topic_creation", "Whether the broker may create a topic the client asks about that does not exist yet."),
    ("api_key", "The number of an API (0 Produce, 1 Fetch, 3 Metadata, 18 ApiVersions, ...)."),
    ("api_keys", "Every API the broker speaks, each with the oldest and newest version it accepts."),
    ("assignment", "The partitions given to a member, in the encoding of the group's protocol."),
    ("attributes", "Bit flags: compression codec in the low three bits, timestamp type, transactional and control flags in a batch; unused in a record."),
    ("authorized_operations", "A bit set of the ACL operations the caller may perform on this resource; -2147483648 when not asked for."),
    ("base_offset", "The offset of the first record in the batch; the records' offset deltas count from here."),
    ("base_sequence", "The producer's sequence number of the first record, for idempotent deduplication; -1 when the producer is not idempotent."),
    ("base_timestamp", "The timestamp of the first record, in milliseconds since the Unix epoch; record timestamp deltas count from here."),
    ("batch_length", "How many bytes of the batch follow this field (everything after base_offset and batch_length)."),
    ("broker_epoch", "A number the controller gives a broker each time it registers, to tell its incarnations apart."),
    ("broker_id", "The node id of a broker."),
    ("brokers", "The brokers of the cluster, each with its id, host, port and rack."),
    ("client_id", "A name the client gives itself, for the broker's logs and quotas."),
    ("cluster_id", "The cluster's id, the same on every broker of one cluster."),
    ("committed_leader_epoch", "The leader epoch of the record the committed offset points at, used to detect log truncation."),
    ("committed_offset", "The offset a consumer group committed: the next record it will read."),
    ("config_source", "Where a config value comes from: topic override, broker setting, default, ..."),
    ("configs", "Configuration entries: names with their values."),
    ("controller_epoch", "The controller's epoch, raised at every controller election; a broker refuses requests from a controller older than the newest it has seen (STALE_CONTROLLER_EPOCH)."),
    ("controller_id", "The node id of the active controller, or -1 when unknown."),
    ("coordinator_epoch", "The epoch of the transaction coordinator that wrote a control record."),
    ("correlation_id", "A number the client picks for each request; the response carries it back so the client can match them."),
    ("count", "How many elements the array holds (in flexible versions the count plus one, with 0 meaning null)."),
    ("crc", "A checksum over the bytes after it (CRC-32C for batches, CRC-32 for legacy messages); the broker rejects the batch when it does not match."),
    ("current_leader", "The leader the broker knows of, so a client with stale metadata can move on without a Metadata round trip."),
    ("current_leader_epoch", "The leader epoch the client believes current; a mismatch gets FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH."),
    ("data", "The bytes of a tagged field's value."),
    ("endpoints", "The addresses a node listens on, one per listener: host, port, listener name and security protocol."),
    ("error_code", "A Kafka error code: 0 means success; any other value names what went wrong (3 UNKNOWN_TOPIC_OR_PARTITION, 35 UNSUPPORTED_VERSION, ...)."),
    ("error_message", "A human-readable explanation of the error, or null."),
    ("fetch_offset", "The offset of the first record the fetcher wants."),
    ("first_offset", "The first offset of a range."),
    ("forgotten_topics_data", "Partitions to drop from an incremental fetch session."),
    ("generation_id", "The consumer group's generation, increased by every rebalance; stale generations are rejected."),
    ("group_id", "The name of the consumer group."),
    ("group_instance_id", "A static member's stable id, so a restart does not trigger a rebalance; null for dynamic members."),
    ("headers", "The record's headers: key/value pairs the application attaches beside key and value."),
    ("headers_count", "How many headers the record has (a varint)."),
    ("high_watermark", "The offset after the last record that every in-sync replica has: consumers can read below it."),
    ("host", "A host name or IP address clients connect to."),
    ("include_cluster_authorized_operations", "Whether to report what the caller may do on the cluster."),
    ("include_topic_authorized_operations", "Whether to report what the caller may do on each topic."),
    ("internal", "Whether the topic is one Kafka keeps for itself (like __consumer_offsets)."),
    ("is_internal", "Whether the topic is one Kafka keeps for itself (like __consumer_offsets)."),
    ("is_k_raft_controller", "Whether the sender is a KRaft controller, as while a cluster migrates from ZooKeeper to KRaft."),
    ("isolation_level", "0 read_uncommitted: see every record; 1 read_committed: stop at the last stable offset and skip aborted transactions."),
    ("isr", "The in-sync replicas of a partition: the brokers that have every record the leader has committed."),
    ("isr_nodes", "The replicas that are in sync with the leader."),
    ("key", "The record key, used to choose the partition and for compaction; may be null."),
    ("key_length", "Length of the key in bytes (a varint); -1 means a null key."),
    ("last_offset", "The last offset of a range."),
    ("last_offset_delta", "The offset of the last record minus the base offset."),
    ("last_stable_offset", "The offset below which every transaction is decided; read_committed consumers stop here."),
    ("leader", "Who leads: the broker id of a partition's leader or, in JoinGroup, the member id of the group's leader, which computes the assignment."),
    ("leader_epoch", "A number increased every time a partition's leadership changes, to detect stale leaders and truncated logs."),
    ("leader_id", "The node id of the partition's leader, or -1 when there is none."),
    ("length", "Length prefix: how many bytes (or characters' bytes) follow; -1 (or 0 in compact form) means null."),
    ("listener", "The name of a listener (PLAINTEXT, SSL, or one the cluster chose); a broker tells clients the endpoint of the listener they came in on."),
    ("live_brokers", "Every broker the controller knows to be alive, with its endpoints and rack."),
    ("log_start_offset", "The first offset still stored in the log; earlier records were deleted by retention or DeleteRecords."),
    ("magic", "The record format version: 0 and 1 are legacy message sets, 2 is the record batch."),
    ("max_bytes", "The most bytes of record data the response may hold."),
    ("max_timestamp", "The largest timestamp of any record in the batch."),
    ("max_version", "The newest version supported."),
    ("max_wait_ms", "How long the broker may hold a Fetch that has less than min_bytes of data before it answers."),
    ("member_epoch", "A member's epoch in the new consumer group protocol."),
    ("member_id", "The id the coordinator gave a group member; empty on its first join."),
    ("members", "The group's members."),
    ("message_size", "The size of a legacy message after this field."),
    ("metadata", "Client-defined bytes carried with a commit or a subscription."),
    ("min_bytes", "The least record data the broker should gather before answering a Fetch (it may wait up to max_wait_ms)."),
    ("min_version", "The oldest version supported."),
    ("name", "The name of the thing this element describes (a topic, a config, a group, ...)."),
    ("node_id", "The id of a broker or controller node."),
    ("num_partitions", "How many partitions to create; -1 asks for the broker's default."),
    ("offline_replicas", "Replicas of the partition whose log directory is offline."),
    ("offset", "A position in a partition's log."),
    ("offset_delta", "The record's offset minus the batch's base offset (a varint)."),
    ("partition", "A partition number."),
    ("partition_data", "Per-partition data of the request or response."),
    ("partition_index", "A partition number, counted from 0 within the topic."),
    ("partition_leader_epoch", "The leader epoch of the broker that wrote the batch; clients send -1."),
    ("partition_max_bytes", "The most record bytes to return for this one partition."),
    ("partition_states", "The state of each partition the controller tells about: leader, leader epoch, in-sync replicas, replicas."),
    ("partitions", "The partitions this element is about."),
    ("port", "A TCP port."),
    ("producer_epoch", "The producer's epoch, increased when a transactional producer restarts, to fence its older self; -1 when unused."),
    ("producer_id", "The id the broker gave an idempotent or transactional producer; -1 when the producer has none."),
    ("protocol_type", "The kind of group (\"consumer\" for consumer groups, \"connect\" for Kafka Connect)."),
    ("rack", "The rack (or availability zone) a broker is in, or null."),
    ("records", "Record data: record batches (or legacy message sets), written as the producer sent them."),
    ("records_count", "How many records the batch holds."),
    ("replica_id", "The node id of a follower replica; -1 for a consumer."),
    ("replica_nodes", "The node ids of every replica of the partition."),
    ("replicas", "The brokers that hold a copy of the partition, the preferred leader first."),
    ("replication_factor", "How many copies of each partition to keep; -1 asks for the broker's default."),
    ("request_api_key", "Which API this request is for (0 Produce, 1 Fetch, 3 Metadata, 18 ApiVersions, ...)."),
    ("request_api_version", "Which version of that API the client speaks; the body's layout depends on it."),
    ("responses", "One result per topic (or element) of the request."),
    ("results", "One result per element of the request."),
    ("security_protocol", "The listener's security protocol: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL."),
    ("session_epoch", "Where the client is in an incremental fetch session: 0 opens one, -1 uses none, later numbers continue it."),
    ("session_id", "The incremental fetch session's id, or 0 for none."),
    ("size", "The size prefix: how many bytes of the frame follow these four."),
    ("tag", "A tagged field's tag number (an unsigned varint)."),
    ("tagged_field", "One tagged field: its tag, its size and its data."),
    ("tagged_fields", "Optional fields of flexible versions: a count, then each field's tag, size and data; fields a reader does not know are skipped."),
    ("throttle_time_ms", "How long the client should wait before sending more, because of a quota; 0 when not throttled."),
    ("timeout_ms", "How long the broker may take before it gives up and answers with a timeout."),
    ("timestamp", "A time in milliseconds since the Unix epoch (-1: latest, -2: earliest, in ListOffsets)."),
    ("timestamp_delta", "The record's timestamp minus the batch's base timestamp (a varlong)."),
    ("topic", "A topic name."),
    ("topic_data", "The topics of the produce request, each with its partitions' records."),
    ("topic_id", "The topic's 16-byte id, which, unlike its name, is never reused."),
    ("topic_name", "A topic name."),
    ("topic_states", "Partition states grouped by topic."),
    ("topics", "The topics this request or response is about (null asks for every topic, where allowed)."),
    ("transactional_id", "The transactional producer's stable id, or null for a producer outside transactions."),
    ("undecoded", "Bytes after the point where decoding stopped."),
    ("ungrouped_partition_states", "Partition states in older versions, each naming its own topic (newer versions group them by topic)."),
    ("v0_host", "A broker's host in version 0, which knew one plaintext endpoint per broker."),
    ("v0_port", "A broker's port in version 0."),
    ("validate_only", "Check the request without changing anything."),
    ("value", "The record value (the message itself); may be null (a tombstone)."),
    ("value_length", "Length of the value in bytes (a varint); -1 means a null value."),
    ("version", "A version number."),
    ("zk_version", "The version of the partition's state znode in ZooKeeper, which the controller updates conditionally."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_found() {
        for w in DOCS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        assert!(describe("error_code").unwrap().contains("error"));
        assert!(describe("no_such_field").is_none());
    }
}
