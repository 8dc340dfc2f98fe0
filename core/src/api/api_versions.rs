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

use crate::protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use crate::protocol::{ApiKey, ErrorCode, ResponseBody};

use super::supported;

/// Every served API and its version range.
pub(crate) fn api_keys() -> Vec<ApiVersion> {
    ApiKey::ALL
        .iter()
        .filter_map(|&k| {
            let v = supported(k);
            (!v.is_empty()).then(|| ApiVersion {
                api_key: k as i16,
                min_version: v.min,
                max_version: v.max,
                ..Default::default()
            })
        })
        .collect()
}

/// The answer to an ApiVersions request: the same whatever it asked.
pub(crate) fn handle() -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::NONE.code(),
        api_keys: api_keys(),
        throttle_time_ms: 0,
        ..Default::default()
    }
}

/// The answer to an ApiVersions request at an unknown version (sent as v0).
pub(crate) fn unsupported() -> ResponseBody {
    ResponseBody::ApiVersions(ApiVersionsResponse {
        error_code: ErrorCode::UNSUPPORTED_VERSION.code(),
        api_keys: api_keys(),
        ..Default::default()
    })
}
