//! Faults and observation for tests, in the spirit of franz-go's `kfake`:
//! a test that embeds the broker makes it fail the way a real cluster
//! fails, and sees what its client sent.
//!
//! - [`Broker::inject_error`]: the next N requests of an API (those naming
//!   a topic, or a partition of it, when the fault says so) are answered
//!   with an error code, in a real response of that API and version
//!   (module `api::injected`); the request is not carried out.
//! - [`Broker::fail_appends`]: the next N appends of a client's Produce
//!   fail as if the disk had, and their partitions are answered
//!   KAFKA_STORAGE_ERROR.
//! - [`Broker::observe`] and [`Broker::poll_observed`]: every request as
//!   it arrives, decoded to JSON (the format of [`crate::json`]), queued
//!   for the driver to drain. No callbacks: the driver polls, as it polls
//!   outputs.
//!
//! Everything is plain data: [`ErrorFault`] reads from JSON
//! (`{"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "count": 2,
//! "topic": "t"}`), and what is observed is a `serde_json::Value`, so a
//! binding (wasm, a test harness in another language) passes both through.
//! Delays and dropped connections are the driver's (they are about time
//! and sockets). Moving a partition's leader needs a cluster: the native
//! driver's `spate::Cluster` moves one between its brokers as an operator
//! does in Kafka (a reassignment, then an election), not as a fault here.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Broker;
use crate::api::injected;
use crate::protocol::header::{decode_request_header, peek_request};
use crate::protocol::{ApiKey, ErrorCode, Reader, RequestBody};
use crate::state::faults::AppendFaults;
use crate::state::ConnId;
use crate::storage::Storage;

/// At most this many observed requests wait to be drained; older ones
/// are dropped first (and counted: [`Broker::observed_dropped`]).
pub const OBSERVED_MAX: usize = 10_000;

/// A name or a number: an API (`"Produce"` or `0`), an error code
/// (`"NOT_LEADER_OR_FOLLOWER"` or `6`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Named {
    /// The number.
    Number(i16),
    /// Kafka's name.
    Name(String),
}

impl From<ApiKey> for Named {
    fn from(k: ApiKey) -> Named {
        Named::Number(k as i16)
    }
}

impl From<ErrorCode> for Named {
    fn from(c: ErrorCode) -> Named {
        Named::Number(c.0)
    }
}

/// "Answer the next `count` requests of `api` with `error`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFault {
    /// The API whose requests fail.
    pub api: Named,
    /// The error code they are answered with.
    pub error: Named,
    /// How many requests (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Only requests that name this topic (their whole answer carries the
    /// error, on every partition the request names, as Kafka fails a
    /// request). Only for APIs that name topics: Produce, Fetch,
    /// ListOffsets, Metadata.
    #[serde(default)]
    pub topic: Option<String>,
    /// Only requests that name this partition of `topic`.
    #[serde(default)]
    pub partition: Option<i32>,
}

fn one() -> u32 {
    1
}

impl ErrorFault {
    /// The next request of `api` is answered with `error`.
    pub fn new(api: ApiKey, error: ErrorCode) -> ErrorFault {
        ErrorFault {
            api: api.into(),
            error: error.into(),
            count: 1,
            topic: None,
            partition: None,
        }
    }
}

/// Why a fault was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultError(pub String);

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultError {}

/// An armed [`ErrorFault`], its names resolved.
#[derive(Debug, Clone)]
struct Armed {
    api: ApiKey,
    code: ErrorCode,
    left: u32,
    topic: Option<String>,
    partition: Option<i32>,
}

/// The broker's faults and observations.
#[derive(Debug, Default)]
pub(super) struct Faults {
    errors: Vec<Armed>,
    pub(super) appends: AppendFaults,
    observing: bool,
    observed: VecDeque<Value>,
    dropped: u64,
}

fn api_key(n: &Named) -> Result<ApiKey, FaultError> {
    let found = match n {
        Named::Number(k) => ApiKey::from_i16(*k),
        Named::Name(s) => ApiKey::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s || s.parse() == Ok(*k as i16)),
    };
    found.ok_or_else(|| FaultError(format!("{n:?} is not a Kafka API")))
}

fn error_code(n: &Named) -> Result<ErrorCode, FaultError> {
    let found = match n {
        Named::Number(c) => Some(ErrorCode(*c)),
        Named::Name(s) => (-1..=200)
            .map(ErrorCode)
            .find(|c| c.name() == s || s.parse() == Ok(c.0)),
    };
    found
        .filter(|c| c.0 == -1 || c.name() != "UNKNOWN_CODE")
        .ok_or_else(|| FaultError(format!("{n:?} is not a Kafka error code")))
}

impl<S: Storage> Broker<S> {
    /// Arms `fault`: the next `count` requests of its API (naming its
    /// topic / partition, when given) are answered with its error code
    /// and not carried out. Faults are checked in the order armed.
    /// Refused: an unknown API or error code, an API Spate has no error
    /// answer for, a topic filter on an API that names no topics.
    pub fn inject_error(&mut self, fault: ErrorFault) -> Result<(), FaultError> {
        let api = api_key(&fault.api)?;
        let code = error_code(&fault.error)?;
        if !injected::can_answer(api) {
            return Err(FaultError(format!(
                "Spate has no error answer for {} (it has no top-level error code)",
                api.name()
            )));
        }
        let names_topics = matches!(
            api,
            ApiKey::Produce | ApiKey::Fetch | ApiKey::ListOffsets | ApiKey::Metadata
        );
        if fault.topic.is_some() && !names_topics {
            return Err(FaultError(format!(
                "{} requests name no topics: a topic filter cannot match them",
                api.name()
            )));
        }
        if fault.partition.is_some() && (fault.topic.is_none() || api == ApiKey::Metadata) {
            return Err(FaultError(
                "a partition filter needs a topic, and an API that names partitions".into(),
            ));
        }
        if fault.count > 0 {
            self.faults.errors.push(Armed {
                api,
                code,
                left: fault.count,
                topic: fault.topic,
                partition: fault.partition,
            });
        }
        Ok(())
    }

    /// The next `count` appends of a client's Produce (to `topic` only,
    /// when given) fail: their partitions are answered KAFKA_STORAGE_ERROR
    /// and nothing is written.
    pub fn fail_appends(&mut self, count: u32, topic: Option<String>) {
        self.faults.appends.add(count, topic);
    }

    /// Injected errors and append failures not yet used up.
    #[must_use]
    pub fn pending_faults(&self) -> u32 {
        let errors: u32 = self.faults.errors.iter().map(|a| a.left).sum();
        errors + self.faults.appends.pending()
    }

    /// Disarms every injected error and append failure.
    pub fn clear_faults(&mut self) {
        self.faults.errors.clear();
        self.faults.appends.clear();
    }

    /// Starts (or stops) queueing every request that arrives, as JSON, for
    /// [`Broker::poll_observed`]. Stopping drops what was not drained.
    pub fn observe(&mut self, on: bool) {
        self.faults.observing = on;
        if !on {
            self.faults.observed.clear();
        }
    }

    /// The next observed request, oldest first: the [`crate::json`] form
    /// of the frame with `"conn"` (the connection's id) added; a frame
    /// that does not decode is `{"conn", "error", "hex"}`.
    #[must_use]
    pub fn poll_observed(&mut self) -> Option<Value> {
        self.faults.observed.pop_front()
    }

    /// Observed requests dropped because nobody drained them in time.
    #[must_use]
    pub fn observed_dropped(&self) -> u64 {
        self.faults.dropped
    }

    /// Records `frame`, arriving on `conn`, when observing.
    pub(super) fn observe_frame(&mut self, conn: ConnId, frame: &Bytes) {
        if !self.faults.observing {
            return;
        }
        let mut v = match crate::json::decode_request(frame, crate::json::SizePrefix::Absent) {
            Ok(v) => v,
            Err(e) => serde_json::json!({
                "error": e.to_string(),
                "hex": crate::json::to_hex(frame),
            }),
        };
        if let Value::Object(m) = &mut v {
            m.insert("conn".into(), conn.into());
        }
        if self.faults.observed.len() >= OBSERVED_MAX {
            self.faults.observed.pop_front();
            self.faults.dropped += 1;
        }
        self.faults.observed.push_back(v);
    }

    /// Answers `frame` with an injected error when an armed fault matches
    /// it; `true` when it did (the request is done).
    pub(super) fn intercept(&mut self, conn: ConnId, frame: &Bytes) -> bool {
        if self.faults.errors.is_empty() {
            return false;
        }
        let Some((key, version)) = peek_request(frame) else {
            return false;
        };
        if !self.faults.errors.iter().any(|a| a.api as i16 == key) {
            return false;
        }
        let mut r = Reader::new(frame);
        let Ok((api, header)) = decode_request_header(&mut r) else {
            return false;
        };
        let Some(Ok(body)) = crate::api::served::decode_request(api, &mut r, version) else {
            // The API layer closes it with its reason.
            return false;
        };
        let cluster = &self.cluster;
        let name_of = |id: &crate::protocol::Uuid| cluster.by_id.get(id).map(|n| n.to_string());
        let named = injected::named(&body, &name_of);
        let matches = |a: &Armed| {
            a.api == api
                && a.topic.as_ref().is_none_or(|t| {
                    named.iter().any(|(n, ps)| {
                        n == t
                            && a.partition.is_none_or(|p| {
                                ps.as_ref().is_none_or(|ps: &Vec<i32>| ps.contains(&p))
                            })
                    })
                })
        };
        let Some(i) = self.faults.errors.iter().position(matches) else {
            return false;
        };
        let code = self.faults.errors[i].code;
        if let RequestBody::Produce(p) = &body {
            if p.acks == 0 {
                // No response to send: the records are lost, as when an
                // acks=0 produce fails.
                self.faults.errors[i].left -= 1;
                self.faults.errors.retain(|a| a.left > 0);
                return true;
            }
        }
        let Some(chunks) = injected::answer(&body, version, header.correlation_id, code) else {
            // This version has no error answer: carried out as usual.
            return false;
        };
        self.faults.errors[i].left -= 1;
        self.faults.errors.retain(|a| a.left > 0);
        self.outputs
            .push_back(super::Output::Response { conn, chunks });
        true
    }
}
