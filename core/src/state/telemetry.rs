//! Client telemetry instances (KIP-714): what the broker remembers about
//! each client that asked for its metrics subscription or pushed metrics,
//! so that GetTelemetrySubscriptions and PushTelemetry can apply Kafka's
//! rate and sequence checks.

use crate::collections::Map;

use super::Now;
use crate::protocol::{ErrorCode, Uuid};

/// `ClientMetricsConfigs.INTERVAL_MS_DEFAULT`.
pub(crate) const PUSH_INTERVAL_MS: i32 = 300_000;
/// `telemetry.max.bytes` default.
pub(crate) const TELEMETRY_MAX_BYTES: i32 = 1_048_576;
/// Instances kept at most (Kafka's cache holds 16k).
const MAX_INSTANCES: usize = 16_384;
/// An instance unheard of for this long is forgotten (Kafka: the larger of
/// one minute and three push intervals).
const EXPIRY_MS: i64 = 3 * PUSH_INTERVAL_MS as i64;

/// What the broker remembers about one client instance.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub subscription_id: i32,
    pub last_get: Now,
    pub last_push: Now,
    pub terminating: bool,
    pub last_error: ErrorCode,
    pub last_seen: Now,
}

impl Instance {
    /// A client instance first heard of now: it has never asked or pushed.
    fn new(id: Uuid) -> Instance {
        Instance {
            subscription_id: subscription_id(id),
            last_get: 0,
            last_push: 0,
            terminating: false,
            last_error: ErrorCode::NONE,
            last_seen: 0,
        }
    }
}

/// Client instances seen through the telemetry APIs.
#[derive(Debug, Default)]
pub(crate) struct Telemetry {
    instances: Map<Uuid, Instance>,
}

impl Telemetry {
    /// The instance `id`, created (or re-created after it expired) as needed.
    pub fn instance(&mut self, id: Uuid, now: Now) -> &mut Instance {
        let fresh = self
            .instances
            .get(&id)
            .is_none_or(|i| now - i.last_seen >= EXPIRY_MS);
        if fresh {
            if self.instances.len() >= MAX_INSTANCES {
                self.instances.retain(|_, i| now - i.last_seen < EXPIRY_MS);
                if self.instances.len() >= MAX_INSTANCES {
                    if let Some(oldest) = self
                        .instances
                        .iter()
                        .min_by_key(|(_, i)| i.last_seen)
                        .map(|(k, _)| *k)
                    {
                        self.instances.remove(&oldest);
                    }
                }
            }
            self.instances.insert(id, Instance::new(id));
        }
        let i = self
            .instances
            .entry(id)
            .or_insert_with(|| Instance::new(id));
        i.last_seen = now;
        i
    }
}

/// Kafka's subscription id: CRC32C of the metric set's Java text and the
/// push interval (`"[]300000"` for no metrics), xor the id's Java hash.
pub(crate) fn subscription_id(id: Uuid) -> i32 {
    let crc = crc32c::crc32c(format!("[]{PUSH_INTERVAL_MS}").as_bytes()) as i32;
    let b = id.0;
    let hi = i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let lo = i64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    let h = hi ^ lo;
    crc ^ ((h >> 32) as i32 ^ h as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_id_of_zero_uuid_is_the_crc() {
        let crc = crc32c::crc32c(b"[]300000") as i32;
        assert_eq!(subscription_id(Uuid::ZERO), crc);
        // hashCode of hi=1, lo=0 is 1.
        let mut b = [0u8; 16];
        b[7] = 1;
        assert_eq!(subscription_id(Uuid(b)), crc ^ 1);
    }
}
