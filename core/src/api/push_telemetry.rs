//! PushTelemetry (key 72): a client pushes its metrics (KIP-714).
//!
//! # Wire
//!
//! Request: client instance id, subscription id, terminating, compression
//! type, metrics (OTLP bytes). Response: error code.
//!
//! # Versions
//!
//! 0 only (flexible). Checks in Kafka 4.1's order: a zero or reserved
//! instance id is INVALID_REQUEST; a push after a terminating one is
//! INVALID_REQUEST; a push sooner than the push interval after the last
//! one (unless a GetTelemetrySubscriptions came between, or this push
//! terminates) is THROTTLING_QUOTA_EXCEEDED; a subscription id other than
//! the instance's is UNKNOWN_SUBSCRIPTION_ID; an unknown compression type
//! is UNSUPPORTED_COMPRESSION_TYPE; metrics larger than telemetry max bytes
//! are TELEMETRY_TOO_LARGE. Accepted metrics are dropped: Spate has no
//! metrics exporter.

use crate::protocol::messages::push_telemetry_request::PushTelemetryRequest;
use crate::protocol::messages::push_telemetry_response::PushTelemetryResponse;
use crate::protocol::{ErrorCode, Uuid};

use super::Ctx;
use crate::state::telemetry::{Instance, Telemetry, PUSH_INTERVAL_MS, TELEMETRY_MAX_BYTES};

/// Kafka's reserved "metadata topic" uuid.
const RESERVED: Uuid = Uuid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

pub(crate) fn handle(
    ctx: &Ctx,
    telemetry: &mut Telemetry,
    req: PushTelemetryRequest,
) -> PushTelemetryResponse {
    let code = check(telemetry, ctx, &req);
    PushTelemetryResponse {
        throttle_time_ms: 0,
        error_code: code.code(),
        ..Default::default()
    }
}

fn check(telemetry: &mut Telemetry, ctx: &Ctx, req: &PushTelemetryRequest) -> ErrorCode {
    let id = req.client_instance_id;
    if id == Uuid::ZERO || id == RESERVED {
        return ErrorCode::INVALID_REQUEST;
    }
    let i = telemetry.instance(id, ctx.now);
    let code = if i.terminating {
        ErrorCode::INVALID_REQUEST
    } else if !accept_push(i, ctx.now) && !req.terminating {
        ErrorCode::THROTTLING_QUOTA_EXCEEDED
    } else if req.subscription_id != i.subscription_id {
        ErrorCode::UNKNOWN_SUBSCRIPTION_ID
    } else if !(0..=4).contains(&req.compression_type) {
        ErrorCode::UNSUPPORTED_COMPRESSION_TYPE
    } else if req.metrics.len() > TELEMETRY_MAX_BYTES as usize {
        ErrorCode::TELEMETRY_TOO_LARGE
    } else {
        ErrorCode::NONE
    };
    // Kafka records the outcome and the terminating flag, whatever they are.
    i.terminating = req.terminating;
    i.last_error = code;
    code
}

/// Kafka's ClientMetricsInstance.maybeUpdatePushRequestTimestamp: a push
/// right after a Get is always accepted (clients add jitter), otherwise
/// one push interval must have passed since the last.
fn accept_push(i: &mut Instance, now: i64) -> bool {
    let ok = i.last_get > i.last_push || now - i.last_push >= i64::from(PUSH_INTERVAL_MS);
    if ok {
        i.last_push = now;
    }
    ok
}
