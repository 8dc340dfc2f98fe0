//! ApiVersions (key 18): which APIs and versions this broker serves.
//!
//! # Wire
//!
//! Request: v3+ carries the client's software name and version. Response:
//! error code, then one `(api_key, min_version, max_version)` per API, then
//! (v1+) throttle time. The response header is always v0.
//!
//! # Versions
//!
//! 0-4. A request at a version the broker does not know is answered with
//! UNSUPPORTED_VERSION in a v0 body that still lists every API, so the
//! client can pick a version both sides know (Kafka's behaviour).
//!
//! The list depends on the broker's mode: in ZooKeeper mode
//! ([`Config::zk_mode`]) it includes UpdateMetadata, LeaderAndIsr and
//! StopReplica, the controller's inter-broker APIs (a Kafka 3.x ZooKeeper
//! broker listed them too).
//!
//! # Features
//!
//! From v3 the response also lists feature flags (KIP-584): Spate supports
//! `transaction.version` 0-2 and has it finalized at 2, as a Kafka 4.1
//! cluster does, so clients that know transaction version 2 (KIP-890 part
//! 2) use it: Produce v12+ and TxnOffsetCommit v5 add partitions to the
//! transaction themselves and EndTxn v5 bumps the epoch. Older clients,
//! which look at no features, stay on version 1.

use crate::protocol::messages::api_versions_response::{
    ApiVersion, ApiVersionsResponse, FinalizedFeatureKey, SupportedFeatureKey,
};
use crate::protocol::{ApiKey, ErrorCode, ResponseBody};
use crate::state::Config;

use super::supported;

/// Every API a broker with `config` serves, and its version range.
pub(crate) fn api_keys(config: &Config) -> Vec<ApiVersion> {
    ApiKey::ALL
        .iter()
        .filter_map(|&k| {
            let v = supported(config, k);
            (!v.is_empty()).then(|| ApiVersion {
                api_key: k as i16,
                min_version: v.min,
                max_version: v.max,
                ..Default::default()
            })
        })
        .collect()
}

/// The finalized level of `transaction.version`.
pub(crate) const TRANSACTION_VERSION: i16 = 2;

/// The answer to an ApiVersions request: the same whatever it asked.
pub(crate) fn handle(config: &Config) -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::NONE.code(),
        api_keys: api_keys(config),
        throttle_time_ms: 0,
        supported_features: vec![SupportedFeatureKey {
            name: "transaction.version".into(),
            min_version: 0,
            max_version: TRANSACTION_VERSION,
            ..Default::default()
        }],
        finalized_features_epoch: 1,
        finalized_features: vec![FinalizedFeatureKey {
            name: "transaction.version".into(),
            max_version_level: TRANSACTION_VERSION,
            min_version_level: TRANSACTION_VERSION,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The answer to an ApiVersions request at an unknown version (sent as v0).
pub(crate) fn unsupported(config: &Config) -> ResponseBody {
    ResponseBody::ApiVersions(ApiVersionsResponse {
        error_code: ErrorCode::UNSUPPORTED_VERSION.code(),
        api_keys: api_keys(config),
        ..Default::default()
    })
}
