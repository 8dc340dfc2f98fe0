//! The transactional APIs under the authorizer.

use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::acl::{Operation, ResourceType};

use super::{allow, sim, ALICE};
use crate::sim::coordinator::find_coordinator;

fn init(s: &mut super::sim::Sim, txn_id: Option<&str>) -> i16 {
    let req = InitProducerIdRequest {
        transactional_id: txn_id.map(Into::into),
        transaction_timeout_ms: 60_000,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    };
    match s.call(ALICE, 4, RequestBody::InitProducerId(req)) {
        ResponseBody::InitProducerId(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_transactional_id_needs_write() {
    let mut s = sim();
    assert_eq!(
        init(&mut s, Some("tx")),
        ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()
    );
    let find = |s: &mut crate::sim::Sim| find_coordinator(s, ALICE, "tx", 1).error_code;
    assert_eq!(
        find(&mut s),
        ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()
    );
    // WRITE implies DESCRIBE: the coordinator is found, then used.
    let id = ResourceType::TransactionalId;
    allow(&mut s, id, "tx", Operation::Write);
    assert_eq!(find(&mut s), 0);
    assert_eq!(init(&mut s, Some("tx")), 0);
}

#[test]
fn an_idempotent_producer_needs_idempotent_write_or_write_on_a_topic() {
    let mut s = sim();
    assert_eq!(
        init(&mut s, None),
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code()
    );
    allow(&mut s, ResourceType::Topic, "t", Operation::Write);
    assert_eq!(init(&mut s, None), 0);
    let mut s = sim();
    allow(
        &mut s,
        ResourceType::Cluster,
        "kafka-cluster",
        Operation::IdempotentWrite,
    );
    assert_eq!(init(&mut s, None), 0);
}

#[test]
fn add_partitions_to_txn_needs_write_on_each_topic() {
    use spate_core::protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
    };
    let mut s = sim();
    s.create_topic("t", 1);
    s.create_topic("u", 1);
    let id = ResourceType::TransactionalId;
    allow(&mut s, id, "tx", Operation::Write);
    allow(&mut s, ResourceType::Topic, "t", Operation::Write);
    assert_eq!(find_coordinator(&mut s, ALICE, "tx", 1).error_code, 0);
    assert_eq!(init(&mut s, Some("tx")), 0);
    let req = AddPartitionsToTxnRequest {
        v3_and_below_transactional_id: "tx".into(),
        v3_and_below_producer_id: 0,
        v3_and_below_producer_epoch: 0,
        v3_and_below_topics: ["t", "u"]
            .iter()
            .map(|n| AddPartitionsToTxnTopic {
                name: (*n).into(),
                partitions: vec![0].into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    match s.call(ALICE, 3, RequestBody::AddPartitionsToTxn(req)) {
        ResponseBody::AddPartitionsToTxn(r) => {
            let codes: Vec<i16> = (r.results_by_topic_v3_and_below.iter())
                .map(|t| t.results_by_partition[0].partition_error_code)
                .collect();
            assert_eq!(
                codes,
                vec![
                    ErrorCode::OPERATION_NOT_ATTEMPTED.code(),
                    ErrorCode::TOPIC_AUTHORIZATION_FAILED.code()
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}
