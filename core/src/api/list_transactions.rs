//! ListTransactions (key 66): the transactional ids the coordinator knows.
//!
//! # Versions
//!
//! 0-2, all flexible. v1 adds the duration filter, v2 a regular expression
//! the transactional id must match (Kafka's RE2/J syntax; Spate uses
//! `regex-lite`, which reads the same common syntax).
//!
//! # Behaviour (Kafka's)
//!
//! Filters combine: state names (names Kafka does not know are returned in
//! `unknown_state_filters` and match nothing), producer ids, a duration
//! (only transactions running at least that many milliseconds; -1 for
//! all), a pattern. An id in Dead state is never listed. A pattern that
//! does not compile is INVALID_REQUEST. In ZooKeeper mode only the ids of
//! the partitions of `__transaction_state` led here are listed, as the
//! coordinator holds no others (Kafka lists its owned partitions).

use super::authz::Checks;
use crate::coordinator::txn::{TxnCoordinator, TxnState};
use crate::protocol::messages::list_transactions_request::ListTransactionsRequest;
use crate::protocol::messages::list_transactions_response::{
    ListTransactionsResponse, TransactionState,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Authorizer, Operation};
use crate::state::Now;

/// Runs a ListTransactions request.
pub(crate) fn handle(
    version: i16,
    now: Now,
    txns: &TxnCoordinator,
    az: &Authorizer<'_>,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut unknown = Vec::new();
    let mut states = Vec::new();
    for name in &req.state_filters {
        match TxnState::from_name(name) {
            Some(s) => states.push(s),
            None => unknown.push(name.clone()),
        }
    }
    let pattern = match req.transactional_id_pattern.as_deref() {
        Some(p) if version >= 2 && !p.is_empty() => {
            match regex_lite::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(_) => {
                    return ListTransactionsResponse {
                        error_code: ErrorCode::INVALID_REQUEST.code(),
                        ..Default::default()
                    }
                }
            }
        }
        _ => None,
    };
    let duration = if version >= 1 {
        req.duration_filter
    } else {
        -1
    };
    let transaction_states = txns
        .all()
        .filter(|m| m.state != TxnState::Dead)
        // Kafka lists only the ids the caller may DESCRIBE.
        .filter(|m| az.txn_id(Operation::Describe, &m.id))
        .filter(|m| req.state_filters.is_empty() || states.contains(&m.state))
        .filter(|m| {
            req.producer_id_filters.is_empty()
                || req.producer_id_filters.iter().any(|p| p == m.producer_id)
        })
        .filter(|m| duration < 0 || now - m.start_ms > duration)
        .filter(|m| pattern.as_ref().is_none_or(|re| re.is_match(&m.id)))
        .map(|m| TransactionState {
            transactional_id: m.id.clone(),
            producer_id: m.producer_id,
            transaction_state: m.state.name().into(),
            ..Default::default()
        })
        .collect();
    ListTransactionsResponse {
        unknown_state_filters: unknown,
        transaction_states,
        ..Default::default()
    }
}
