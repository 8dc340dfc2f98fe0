//! GetTelemetrySubscriptions (key 71): which client metrics a client
//! should push (KIP-714), and the per-client state PushTelemetry checks.
//!
//! # Wire
//!
//! Request: client instance id (zero for a new client). Response: error
//! code, client instance id, subscription id, accepted compression types,
//! push interval, telemetry max bytes, delta temporality, requested metrics.
//!
//! # Versions
//!
//! 0 only (flexible). Spate has no client-metrics subscriptions, so every
//! client gets what Kafka 4.1 answers when none matches: no requested
//! metrics, the default push interval (5 minutes), the id of an empty
//! subscription set, compression types zstd, lz4, gzip, snappy, 1 MiB max
//! and delta temporality. A zero instance id gets a fresh one from the
//! broker's seeded ids. A client asking again before its push interval has
//! passed gets THROTTLING_QUOTA_EXCEEDED, as in Kafka.
//!
//! Kafka advertises the two telemetry APIs only when a metrics plugin is
//! configured; Spate always serves them (and drops pushed metrics), so
//! clients learn that nothing is wanted and push nothing.

use crate::protocol::messages::get_telemetry_subscriptions_request::GetTelemetrySubscriptionsRequest;
use crate::protocol::messages::get_telemetry_subscriptions_response::GetTelemetrySubscriptionsResponse;
use crate::protocol::{ErrorCode, Uuid};

use super::Ctx;
use crate::state::ids::Ids;
use crate::state::telemetry::{Telemetry, PUSH_INTERVAL_MS, TELEMETRY_MAX_BYTES};

/// Compression type ids clients may push with, preferred first
/// (zstd, lz4, gzip, snappy).
const ACCEPTED_COMPRESSION: [i8; 4] = [4, 3, 1, 2];

pub(crate) fn handle(
    ctx: &Ctx,
    telemetry: &mut Telemetry,
    ids: &mut Ids,
    req: GetTelemetrySubscriptionsRequest,
) -> GetTelemetrySubscriptionsResponse {
    let id = if req.client_instance_id == Uuid::ZERO {
        ids.uuid()
    } else {
        req.client_instance_id
    };
    let i = telemetry.instance(id, ctx.now);
    // Kafka's ClientMetricsInstance.maybeUpdateGetRequestTimestamp.
    let since = ctx.now - i.last_get.max(i.last_push);
    let retry_allowed = matches!(
        i.last_error,
        ErrorCode::UNKNOWN_SUBSCRIPTION_ID | ErrorCode::UNSUPPORTED_COMPRESSION_TYPE
    );
    if since >= i64::from(PUSH_INTERVAL_MS) {
        i.last_get = ctx.now;
    } else if !retry_allowed {
        return GetTelemetrySubscriptionsResponse {
            error_code: ErrorCode::THROTTLING_QUOTA_EXCEEDED.code(),
            ..Default::default()
        };
    }
    i.last_error = ErrorCode::NONE;
    GetTelemetrySubscriptionsResponse {
        throttle_time_ms: 0,
        error_code: 0,
        client_instance_id: id,
        subscription_id: i.subscription_id,
        accepted_compression_types: ACCEPTED_COMPRESSION.to_vec().into(),
        push_interval_ms: PUSH_INTERVAL_MS,
        telemetry_max_bytes: TELEMETRY_MAX_BYTES,
        delta_temporality: true,
        requested_metrics: Vec::new(),
        ..Default::default()
    }
}
