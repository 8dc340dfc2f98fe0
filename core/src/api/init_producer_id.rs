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
//! - A transactional id: the epoch kept for it is bumped (fencing older
//!   producers), or the request is fenced; see
//!   [`Producers::init_transactional`](crate::state::producers::Producers::init_transactional).
//! - Errors come with producer id -1 and epoch -1.

use crate::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use crate::protocol::messages::init_producer_id_response::InitProducerIdResponse;
use crate::protocol::ErrorCode;
use crate::state::producers::Producers;
use crate::state::Config;
use crate::storage::Storage;

use super::Ctx;

/// Kafka's default `transaction.max.timeout.ms`.
pub(crate) const TRANSACTION_MAX_TIMEOUT_MS: i32 = 900_000;

/// Answers an InitProducerId request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    producers: &mut Producers,
    storage: &mut S,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let expected = match (req.producer_id, req.producer_epoch) {
        (-1, -1) => None,
        (-1, _) | (_, -1) => return error(ErrorCode::INVALID_REQUEST),
        (id, epoch) => Some((id, epoch)),
    };
    let node_id = config.node_id;
    let result = match req.transactional_id.as_deref() {
        None => producers
            .allocate(storage, node_id, ctx.now)
            .map(|id| (id, 0))
            .ok_or(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
        Some("") => Err(ErrorCode::INVALID_REQUEST),
        Some(_) if !(1..=TRANSACTION_MAX_TIMEOUT_MS).contains(&req.transaction_timeout_ms) => {
            Err(ErrorCode::INVALID_TRANSACTION_TIMEOUT)
        }
        Some(id) => producers.init_transactional(storage, node_id, ctx.now, id, expected),
    };
    match result {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse {
            producer_id,
            producer_epoch,
            ..Default::default()
        },
        Err(ErrorCode::PRODUCER_FENCED) if ctx.version < 4 => {
            error(ErrorCode::INVALID_PRODUCER_EPOCH)
        }
        Err(code) => error(code),
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
