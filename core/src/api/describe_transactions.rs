//! DescribeTransactions (key 65, v0): the state of transactional ids.
//!
//! Per id: TRANSACTIONAL_ID_NOT_FOUND for one the coordinator does not
//! know; otherwise its state's name, timeout, the start of its current
//! transaction, its producer id and epoch, and the partitions of its
//! transaction by topic. In ZooKeeper mode an id whose partition of
//! `__transaction_state` is not led here is NOT_COORDINATOR
//! ([`TxnCoordinator::coordinates`]).

use super::authz::Checks;
use crate::collections::Map;
use crate::security::acl::{Authorizer, Operation};

use crate::coordinator::txn::TxnCoordinator;
use crate::protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
use crate::protocol::messages::describe_transactions_response::{
    DescribeTransactionsResponse, TopicData, TransactionState,
};
use crate::protocol::{ErrorCode, PrimArray};

/// Runs a DescribeTransactions request.
pub(crate) fn handle(
    txns: &TxnCoordinator,
    az: &Authorizer<'_>,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    // Kafka's checks: DESCRIBE on the transactional id
    // (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and only the topics the
    // caller may DESCRIBE are listed.
    let allowed = |id: &str| match az.txn_id(Operation::Describe, id) {
        true => Ok(()),
        false => Err(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
    };
    let transaction_states = req
        .transactional_ids
        .iter()
        .map(
            |id| match allowed(id).and_then(|()| txns.coordinates(id).map(|()| txns.get(id))) {
                Err(code) => TransactionState {
                    error_code: code.code(),
                    transactional_id: id.clone(),
                    producer_id: -1,
                    producer_epoch: -1,
                    transaction_start_time_ms: -1,
                    ..Default::default()
                },
                Ok(None) => TransactionState {
                    error_code: ErrorCode::TRANSACTIONAL_ID_NOT_FOUND.code(),
                    transactional_id: id.clone(),
                    producer_id: -1,
                    producer_epoch: -1,
                    transaction_start_time_ms: -1,
                    ..Default::default()
                },
                Ok(Some(m)) => {
                    let mut by_topic: Map<_, Vec<i32>> = Map::new();
                    for (t, p) in
                        (m.partitions.iter()).filter(|(t, _)| az.topic(Operation::Describe, t))
                    {
                        by_topic.entry(t.clone()).or_default().push(*p);
                    }
                    TransactionState {
                        error_code: 0,
                        transactional_id: id.clone(),
                        transaction_state: m.state.name().into(),
                        transaction_timeout_ms: m.timeout_ms,
                        transaction_start_time_ms: m.start_ms,
                        producer_id: m.producer_id,
                        producer_epoch: m.epoch,
                        topics: by_topic
                            .into_iter()
                            .map(|(topic, ps)| TopicData {
                                topic,
                                partitions: PrimArray::from(ps),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }
                }
            },
        )
        .collect();
    DescribeTransactionsResponse {
        transaction_states,
        ..Default::default()
    }
}
