//! InitProducerId (key 22): a producer id and epoch for an idempotent or
//! transactional producer.
//!
//! # Wire
//!
//! Request: transactional id (nullable), transaction timeout, and from v3
//! the producer id and epoch the client already has (KIP-360; -1, -1 for
//! none). Response: throttle time, error, producer id, producer epoch.
//!
//! # Versions
//!
//! 0-5, flexible from v2. v4 brought PRODUCER_FENCED; older versions get
//! INVALID_PRODUCER_EPOCH in its place, as Kafka answers them. v5 only
//! tells the broker the client understands TV2 transactions.
//!
//! # Behaviour (Kafka 4.1's)
//!
//! - A producer id without an epoch, or an epoch without an id: INVALID_REQUEST.
//! - No transactional id (an idempotent producer): always a new producer id
//!   with epoch 0, whatever id and epoch the request carries. Kafka's
//!   coordinator accepts such a request "blindly"; an idempotent client
//!   bumps its epoch itself (KIP-360) and only asks for a new id.
//! - An empty transactional id: INVALID_REQUEST; a timeout not in
//!   `1..=transaction.max.timeout.ms` (15 minutes): INVALID_TRANSACTION_TIMEOUT.
//! - A transactional id goes to the transaction coordinator
//!   ([`crate::coordinator::txn`]): its epoch is bumped (fencing older
//!   producers), an open transaction of the id is aborted first, or the
//!   request is fenced.
//! - Errors come with producer id -1 and epoch -1.

use crate::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use crate::protocol::messages::init_producer_id_response::InitProducerIdResponse;
use crate::protocol::ErrorCode;
use crate::state::Config;
use crate::storage::{Storage, TopicPartition};

use super::txn::{carry_out, fenced_for, TxnParts};
use super::Ctx;

/// Answers an InitProducerId request; partitions that got markers (an
/// open transaction aborted) go to `appended`.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    p: &mut TxnParts<'_, S>,
    req: InitProducerIdRequest,
    appended: &mut Vec<TopicPartition>,
) -> InitProducerIdResponse {
    let expected = match (req.producer_id, req.producer_epoch) {
        (-1, -1) => None,
        (-1, _) | (_, -1) => return error(ErrorCode::INVALID_REQUEST),
        (id, epoch) => Some((id, epoch)),
    };
    let node_id = config.node_id;
    let now = ctx.now;
    let result = match req.transactional_id.as_deref() {
        None => p
            .producers
            .allocate(p.storage, node_id, now)
            .map(|id| (id, 0))
            .ok_or(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
        Some("") => Err(ErrorCode::INVALID_REQUEST),
        Some(id) => {
            let id = id.into();
            let plan = {
                let (producers, storage) = (&mut *p.producers, &mut *p.storage);
                let mut alloc = || producers.allocate(storage, node_id, now);
                p.txns
                    .init_producer_id(&id, req.transaction_timeout_ms, expected, now, &mut alloc)
            };
            plan.and_then(|plan| carry_out(p, plan, now, appended))
        }
    };
    match result {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse {
            producer_id,
            producer_epoch,
            ..Default::default()
        },
        Err(code) => error(fenced_for(code, ctx.version, 4)),
    }
}

fn error(code: ErrorCode) -> InitProducerIdResponse {
    InitProducerIdResponse {
        error_code: code.code(),
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
}
