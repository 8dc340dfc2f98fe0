//! A storage that fails on demand: whatever state the broker cannot write,
//! it never answers as written. Each test breaks appends to one internal
//! log (`__cluster_metadata`, `__consumer_offsets`), checks that the client
//! gets Kafka's error and that nothing changed, then mends the storage and
//! checks that the same request works and that a restart keeps what was
//! acknowledged.

mod sim;
#[allow(dead_code)]
#[path = "groups/util.rs"]
mod util;

use std::collections::BTreeSet;
use std::fmt;

use bytes::Bytes;
use sim::Sim;
use spate_core::broker::Config;
use spate_core::protocol::messages::alter_configs_request::{
    AlterConfigsRequest, AlterConfigsResource, AlterableConfig,
};
use spate_core::protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use spate_core::protocol::messages::consumer_group_heartbeat_request::ConsumerGroupHeartbeatRequest;
use spate_core::protocol::messages::consumer_group_heartbeat_response::ConsumerGroupHeartbeatResponse;
use spate_core::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::{
    BatchMeta, Chunks, Compaction, MemError, MemStorage, SegmentInfo, Storage, TopicPartition,
};
use util::*;

/// A [`MemStorage`] whose appends to the topics in `broken` fail.
#[derive(Debug, Clone, Default)]
struct Faulty {
    mem: MemStorage,
    broken: BTreeSet<String>,
}

#[derive(Debug)]
enum Fault {
    Broken(TopicPartition),
    Mem(MemError),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Broken(tp) => write!(f, "appends to {tp} fail (on purpose)"),
            Fault::Mem(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Fault {}

impl Faulty {
    fn breaking(mut self, topic: &str) -> Faulty {
        self.broken.insert(topic.to_string());
        self
    }
}

impl Storage for Faulty {
    type Error = Fault;

    fn logs(&self) -> Vec<TopicPartition> {
        self.mem.logs()
    }
    fn create_log(&mut self, tp: &TopicPartition, id: Uuid) -> Result<(), Fault> {
        self.mem.create_log(tp, id).map_err(Fault::Mem)
    }
    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), Fault> {
        self.mem.delete_log(tp).map_err(Fault::Mem)
    }
    fn append(&mut self, tp: &TopicPartition, batch: Bytes, meta: BatchMeta) -> Result<(), Fault> {
        if self.broken.contains(&tp.topic) {
            return Err(Fault::Broken(tp.clone()));
        }
        self.mem.append(tp, batch, meta).map_err(Fault::Mem)
    }
    fn read(&self, tp: &TopicPartition, offset: i64, max: usize) -> Result<Chunks, Fault> {
        self.mem.read(tp, offset, max).map_err(Fault::Mem)
    }
    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.start_offset(tp)
    }
    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.end_offset(tp)
    }
    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> Result<Option<i64>, Fault> {
        self.mem.offset_for_timestamp(tp, ts).map_err(Fault::Mem)
    }
    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Fault> {
        self.mem.delete_before(tp, offset).map_err(Fault::Mem)
    }
    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Fault> {
        self.mem.truncate_to(tp, offset).map_err(Fault::Mem)
    }
    fn truncate_fully_and_start_at(&mut self, tp: &TopicPartition, at: i64) -> Result<(), Fault> {
        self.mem
            .truncate_fully_and_start_at(tp, at)
            .map_err(Fault::Mem)
    }
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        self.mem.segments(tp)
    }
    fn compaction(&mut self) -> Option<&mut dyn Compaction<Error = Fault>> {
        Some(self)
    }
}

impl Compaction for Faulty {
    fn replace_segments(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        batches: Vec<(Bytes, BatchMeta)>,
    ) -> Result<(), Fault> {
        self.mem
            .replace_segments(tp, from, to, batches)
            .map_err(Fault::Mem)
    }
}

const OFFSETS: &str = "__consumer_offsets";
const METADATA: &str = "__cluster_metadata";

/// A broker over healthy storage with topic `t` (4 partitions); joins do
/// not wait for more members.
fn sim() -> Sim<Faulty> {
    let mut s = Sim::over(config(0), Faulty::default());
    s.create_topic("t", 4);
    s
}

fn break_log(s: &mut Sim<Faulty>, topic: &str) {
    s.broker.storage_mut().broken.insert(topic.to_string());
}

fn mend(s: &mut Sim<Faulty>) {
    s.broker.storage_mut().broken.clear();
}

fn metadata_code(s: &mut Sim<Faulty>, topic: &str) -> i16 {
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    match s.call(97, 12, RequestBody::Metadata(req)) {
        ResponseBody::Metadata(r) => r.topics[0].error_code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_topic_whose_records_are_not_written_is_not_created() {
    let mut s = sim();
    break_log(&mut s, METADATA);
    let r = s.create_topic_with("orders", 3, &[]);
    assert_eq!(r.error_code, ErrorCode::KAFKA_STORAGE_ERROR.code());
    assert_eq!(
        metadata_code(&mut s, "orders"),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
        "nothing was created"
    );
    mend(&mut s);
    assert_eq!(s.create_topic_with("orders", 3, &[]).error_code, 0);
    let again = s.restart();
    assert!(again.broker.topic_names().contains(&"orders".to_string()));
}

#[test]
fn a_config_that_is_not_written_does_not_change() {
    let mut s = sim();
    let alter = |value: &str| {
        RequestBody::AlterConfigs(AlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![AlterableConfig {
                    name: "retention.ms".into(),
                    value: Some(value.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
    };
    break_log(&mut s, METADATA);
    match s.call(1, 2, alter("1000")) {
        ResponseBody::AlterConfigs(r) => assert_eq!(
            r.responses[0].error_code,
            ErrorCode::KAFKA_STORAGE_ERROR.code()
        ),
        other => panic!("{other:?}"),
    }
    mend(&mut s);
    // Retention as the broker's default: a record far older than
    // retention.ms=1000 would be gone if the change had been kept.
    let old = sim::batch(1, "old");
    s.produce_ok(9, "t", 0, old);
    s.advance(60_000 * 10);
    assert_eq!(
        s.broker
            .storage()
            .start_offset(&TopicPartition::new("t", 0)),
        0,
        "retention.ms is still the default"
    );
    match s.call(1, 2, alter("1000")) {
        ResponseBody::AlterConfigs(r) => assert_eq!(r.responses[0].error_code, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_producer_id_block_that_is_not_written_is_not_handed_out() {
    let mut s = Sim::over(Config::default(), Faulty::default().breaking(METADATA));
    let req = RequestBody::InitProducerId(InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 60_000,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    });
    match s.call(1, 4, req.clone()) {
        ResponseBody::InitProducerId(r) => {
            assert_eq!(r.error_code, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.code());
            assert_eq!(r.producer_id, -1);
        }
        other => panic!("{other:?}"),
    }
    mend(&mut s);
    match s.call(1, 4, req) {
        ResponseBody::InitProducerId(r) => assert_eq!((r.error_code, r.producer_id), (0, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn offsets_that_are_not_written_are_not_committed() {
    let mut s = sim();
    assert_eq!(commit(&mut s, 1, "g", -1, "", 5), 0);
    break_log(&mut s, OFFSETS);
    assert_eq!(
        commit(&mut s, 1, "g", -1, "", 9),
        ErrorCode::NOT_COORDINATOR.code(),
        "Kafka's answer for an append that failed"
    );
    assert_eq!(fetch_offset(&mut s, "g", 8).0, 5, "the old offset stands");
    mend(&mut s);
    assert_eq!(commit(&mut s, 1, "g", -1, "", 9), 0);
    assert_eq!(fetch_offset(&mut s, "g", 8).0, 9);
    let mut again = s.restart();
    assert_eq!(fetch_offset(&mut again, "g", 8).0, 9, "acknowledged, kept");
}

#[test]
fn an_assignment_that_is_not_written_reaches_no_member() {
    let mut s = sim();
    let a = join_new(&mut s, 1, "g");
    let b = join_new(&mut s, 2, "g");
    s.step(0);
    assert_eq!(joins(&mut s, 1)[0].leader, a.as_str());
    assert_eq!(joins(&mut s, 2).len(), 1);
    // B's SyncGroup waits for the leader's.
    s.send(2, 5, sync_req("g", 1, &b, &[]));
    assert!(s.take(2).is_empty());
    let assignment = [(a.as_str(), "for-a"), (b.as_str(), "for-b")];
    break_log(&mut s, OFFSETS);
    s.send(1, 5, sync_req("g", 1, &a, &assignment));
    for conn in [1, 2] {
        let r = syncs(&mut s, conn);
        assert_eq!(r.len(), 1, "connection {conn} is answered");
        assert_eq!(r[0].error_code, ErrorCode::NOT_COORDINATOR.code());
        assert!(
            r[0].assignment.is_empty(),
            "no member learns the assignment"
        );
    }
    assert_eq!(
        util::describe(&mut s, "g").group_state,
        "CompletingRebalance",
        "the group is as it was before the leader's SyncGroup"
    );
    mend(&mut s);
    s.send(2, 5, sync_req("g", 1, &b, &[]));
    s.send(1, 5, sync_req("g", 1, &a, &assignment));
    assert_eq!(syncs(&mut s, 1)[0].assignment, "for-a".as_bytes());
    assert_eq!(syncs(&mut s, 2)[0].assignment, "for-b".as_bytes());
    assert_eq!(util::describe(&mut s, "g").group_state, "Stable");
    let mut again = s.restart();
    let g = util::describe(&mut again, "g");
    assert_eq!(g.group_state, "Stable", "the written assignment is kept");
    assert_eq!(g.members.len(), 2);
}

#[test]
fn a_group_that_is_not_deleted_stays() {
    let mut s = sim();
    assert_eq!(commit(&mut s, 1, "g", -1, "", 5), 0);
    let delete = RequestBody::DeleteGroups(DeleteGroupsRequest {
        groups_names: vec!["g".into()],
        ..Default::default()
    });
    break_log(&mut s, OFFSETS);
    match s.call(1, 2, delete.clone()) {
        ResponseBody::DeleteGroups(r) => {
            assert_eq!(r.results[0].error_code, ErrorCode::NOT_COORDINATOR.code())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fetch_offset(&mut s, "g", 8).0, 5, "its offsets stay");
    mend(&mut s);
    match s.call(1, 2, delete) {
        ResponseBody::DeleteGroups(r) => assert_eq!(r.results[0].error_code, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(fetch_offset(&mut s, "g", 8).0, -1);
}

fn consumer_hb(s: &mut Sim<Faulty>, member: &str, epoch: i32) -> ConsumerGroupHeartbeatResponse {
    let req = ConsumerGroupHeartbeatRequest {
        group_id: "cg".into(),
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: (epoch == 0).then(|| vec!["t".into()]),
        topic_partitions: (epoch == 0).then(Vec::new),
        ..Default::default()
    };
    match s.call(3, 1, RequestBody::ConsumerGroupHeartbeat(req)) {
        ResponseBody::ConsumerGroupHeartbeat(r) => r,
        other => panic!("{other:?}"),
    }
}

fn consumer_group_state(s: &mut Sim<Faulty>) -> (i16, String, usize) {
    let req = RequestBody::ConsumerGroupDescribe(ConsumerGroupDescribeRequest {
        group_ids: vec!["cg".into()],
        ..Default::default()
    });
    match s.call(3, 1, req) {
        ResponseBody::ConsumerGroupDescribe(r) => {
            let g = &r.groups[0];
            (g.error_code, g.group_state.to_string(), g.members.len())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_consumer_group_change_that_is_not_written_is_undone_and_its_timer_retried() {
    let mut s = sim();
    break_log(&mut s, OFFSETS);
    let r = consumer_hb(&mut s, "A", 0);
    assert_eq!(r.error_code, ErrorCode::NOT_COORDINATOR.code());
    assert_eq!(
        consumer_group_state(&mut s).0,
        ErrorCode::GROUP_ID_NOT_FOUND.code(),
        "the join is undone: there is no group"
    );
    mend(&mut s);
    let r = consumer_hb(&mut s, "A", 0);
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    assert_eq!(consumer_group_state(&mut s), (0, "Stable".into(), 1));
    // The member goes silent; its removal cannot be written at first.
    break_log(&mut s, OFFSETS);
    let session = Config::default().groups.consumer_session_timeout_ms;
    s.advance(session + 1);
    assert_eq!(
        consumer_group_state(&mut s).2,
        1,
        "the member stays while its removal cannot be written"
    );
    mend(&mut s);
    s.advance(1_000);
    assert_eq!(
        consumer_group_state(&mut s),
        (0, "Empty".into(), 0),
        "tried again, and written"
    );
    let mut again = s.restart();
    assert_eq!(consumer_group_state(&mut again).2, 0);
}

#[test]
fn acls_and_scram_credentials_not_written_do_not_take_effect() {
    use spate_core::protocol::messages::alter_user_scram_credentials_request::{
        AlterUserScramCredentialsRequest, ScramCredentialUpsertion,
    };
    use spate_core::protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
    use spate_core::protocol::messages::describe_acls_request::DescribeAclsRequest;
    let mut c = config(0);
    c.security.authorizer = true;
    c.security.super_users = vec![spate_core::security::Principal::anonymous()];
    let mut s = Sim::over(c, Faulty::default());
    let create = RequestBody::CreateAcls(CreateAclsRequest {
        creations: vec![AclCreation {
            resource_type: 2,
            resource_name: "t".into(),
            resource_pattern_type: 3,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: 3,
            permission_type: 3,
            ..Default::default()
        }],
        ..Default::default()
    });
    let upsert = RequestBody::AlterUserScramCredentials(AlterUserScramCredentialsRequest {
        upsertions: vec![ScramCredentialUpsertion {
            name: "alice".into(),
            mechanism: 1,
            iterations: 4096,
            salt: Bytes::from_static(b"salt"),
            salted_password: Bytes::from_static(&[1; 32]),
            ..Default::default()
        }],
        ..Default::default()
    });
    let describe = || {
        RequestBody::DescribeAcls(DescribeAclsRequest {
            resource_type_filter: 1,
            resource_name_filter: None,
            pattern_type_filter: 1,
            principal_filter: None,
            host_filter: None,
            operation: 1,
            permission_type: 1,
            ..Default::default()
        })
    };
    let acls = |s: &mut Sim<Faulty>| match s.call(1, 3, describe()) {
        ResponseBody::DescribeAcls(r) => r.resources.len(),
        other => panic!("{other:?}"),
    };
    break_log(&mut s, METADATA);
    match s.call(1, 3, create.clone()) {
        ResponseBody::CreateAcls(r) => assert_eq!(
            r.results[0].error_code,
            ErrorCode::KAFKA_STORAGE_ERROR.code()
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(acls(&mut s), 0, "nothing was created");
    match s.call(1, 0, upsert.clone()) {
        ResponseBody::AlterUserScramCredentials(r) => assert_eq!(
            r.results[0].error_code,
            ErrorCode::KAFKA_STORAGE_ERROR.code()
        ),
        other => panic!("{other:?}"),
    }
    mend(&mut s);
    assert!(
        matches!(s.call(1, 3, create), ResponseBody::CreateAcls(r) if r.results[0].error_code == 0)
    );
    assert!(matches!(
        s.call(1, 0, upsert),
        ResponseBody::AlterUserScramCredentials(r) if r.results[0].error_code == 0
    ));
    let mut again = s.restart();
    assert_eq!(acls(&mut again), 1);
}
