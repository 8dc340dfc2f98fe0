//! The request log: one event per completed request, as Kafka's
//! `kafka.request.logger` writes at DEBUG.
//!
//! Events go to their own target, [`TARGET`] (`spate::request`), at DEBUG,
//! so they are off by default; `SPATE_LOG=info,spate::request=debug`
//! turns them on (with `--log-format json` each is one JSON object per
//! line). An event's fields:
//!
//! | field | what |
//! |---|---|
//! | `api` | Kafka's request name (`Produce`, `FetchConsumer`, `FetchFollower`, `Metadata`, ...) |
//! | `api_version` | the request's version |
//! | `client_id` | the request header's `client.id` (absent when null) |
//! | `conn`, `peer` | the broker's connection id and the client's address |
//! | `latency_us` | microseconds from the frame reaching the owner task to the response going to the connection's writer |
//! | `error` | the first non-zero error code of the response, by Kafka's name (a top-level error before the partitions'); absent when none |
//! | `request_bytes`, `response_bytes` | frame sizes (`response_bytes` 0: no response, as for acks=0) |
//!
//! The owner loop learns of completions from the core's metrics
//! ([`spate_core::broker::Completed`]: name, version, error) and pairs them
//! with what it noted when each frame arrived (time, client id, size), as
//! the `--metrics` request timer does; the core reads no clock.

use std::time::Instant;

use spate_core::broker::Completed;

/// The request log's tracing target.
pub(crate) const TARGET: &str = "spate::request";

/// Whether the subscriber wants request events (its filter is set at
/// start, so the owner asks once).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// What the owner noted when a request's frame arrived.
#[derive(Debug)]
pub(crate) struct Arrival {
    pub at: Instant,
    /// The header's client id (only noted for the request log).
    pub client_id: Option<String>,
    /// The frame's size, size prefix included.
    pub bytes: usize,
}

/// The client id of a request frame (its size prefix removed): the
/// header's nullable string after the api key, version and correlation
/// id. `None` when null, absent or not UTF-8.
pub(crate) fn client_id(frame: &[u8]) -> Option<String> {
    let len = i16::from_be_bytes(frame.get(8..10)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    let id = frame.get(10..10 + len)?;
    std::str::from_utf8(id).ok().map(str::to_owned)
}

/// Writes one request's event.
pub(crate) fn log(c: &Completed, arrival: &Arrival, peer: Option<&str>, now: Instant) {
    let latency_us = now.saturating_duration_since(arrival.at).as_micros() as u64;
    tracing::debug!(
        target: TARGET,
        api = c.name,
        api_version = c.version,
        client_id = arrival.client_id.as_deref(),
        conn = c.conn,
        peer,
        latency_us,
        error = c.error.map(|e| e.name()),
        request_bytes = arrival.bytes,
        response_bytes = c.response_bytes,
        "completed request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_from_a_header() {
        let mut f = vec![0, 3, 0, 12, 0, 0, 0, 7, 0, 7];
        f.extend_from_slice(b"rdkafka");
        f.extend_from_slice(&[0, 0]);
        assert_eq!(client_id(&f).as_deref(), Some("rdkafka"));
        let null = [0, 3, 0, 12, 0, 0, 0, 7, 0xff, 0xff];
        assert_eq!(client_id(&null), None);
        assert_eq!(client_id(&f[..12]), None, "cut short");
        assert_eq!(client_id(&[0, 3]), None);
    }
}
