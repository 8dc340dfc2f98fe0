//! GetTelemetrySubscriptions and PushTelemetry with no client metrics
//! subscriptions, as Kafka answers them.

use crate::sim::Sim;
use crate::util::INVALID_REQUEST;
use spate_core::protocol::messages::get_telemetry_subscriptions_request::GetTelemetrySubscriptionsRequest;
use spate_core::protocol::messages::get_telemetry_subscriptions_response::GetTelemetrySubscriptionsResponse;
use spate_core::protocol::messages::push_telemetry_request::PushTelemetryRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};

fn get_subscriptions(sim: &mut Sim, id: Uuid) -> GetTelemetrySubscriptionsResponse {
    let req = GetTelemetrySubscriptionsRequest {
        client_instance_id: id,
        ..Default::default()
    };
    let ResponseBody::GetTelemetrySubscriptions(r) =
        sim.call(1, 0, RequestBody::GetTelemetrySubscriptions(req))
    else {
        panic!()
    };
    r
}

fn push(sim: &mut Sim, id: Uuid, subscription_id: i32, terminating: bool) -> i16 {
    let req = PushTelemetryRequest {
        client_instance_id: id,
        subscription_id,
        terminating,
        compression_type: 0,
        ..Default::default()
    };
    let ResponseBody::PushTelemetry(r) = sim.call(1, 0, RequestBody::PushTelemetry(req)) else {
        panic!()
    };
    r.error_code
}

#[test]
fn telemetry_without_subscriptions_answers_as_kafka() {
    let mut sim = Sim::new();
    let r = get_subscriptions(&mut sim, Uuid::ZERO);
    assert_eq!(r.error_code, 0);
    assert_ne!(r.client_instance_id, Uuid::ZERO);
    assert!(r.requested_metrics.is_empty());
    assert_eq!(r.accepted_compression_types.to_vec(), [4, 3, 1, 2]);
    assert_eq!(
        (
            r.push_interval_ms,
            r.telemetry_max_bytes,
            r.delta_temporality
        ),
        (300_000, 1_048_576, true)
    );
    let (id, sub) = (r.client_instance_id, r.subscription_id);
    // Asking again at once is throttled.
    assert_eq!(
        get_subscriptions(&mut sim, id).error_code,
        ErrorCode::THROTTLING_QUOTA_EXCEEDED.code()
    );
    // A push right after the Get is accepted; the next one must wait.
    assert_eq!(push(&mut sim, id, sub, false), 0);
    assert_eq!(
        push(&mut sim, id, sub, false),
        ErrorCode::THROTTLING_QUOTA_EXCEEDED.code()
    );
    sim.advance(300_000);
    assert_eq!(
        push(&mut sim, id, sub ^ 1, false),
        ErrorCode::UNKNOWN_SUBSCRIPTION_ID.code()
    );
    // After that error the client may ask again at once.
    let again = get_subscriptions(&mut sim, id);
    assert_eq!(
        (
            again.error_code,
            again.client_instance_id,
            again.subscription_id
        ),
        (0, id, sub)
    );
    assert_eq!(push(&mut sim, id, sub, true), 0);
    assert_eq!(push(&mut sim, id, sub, false), INVALID_REQUEST);
    assert_eq!(push(&mut sim, Uuid::ZERO, sub, false), INVALID_REQUEST);
}
