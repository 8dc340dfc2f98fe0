//! spate-core: the sans-I/O heart of Spate, a broker that speaks Apache
//! Kafka's wire protocol.
//!
//! Bytes in, bytes out: no I/O, no clock, no threads, no randomness of its
//! own. It builds for `wasm32-unknown-unknown`.
//!
//! - [`protocol`]: wire primitives, headers, every message of every API
//!   version from v0 to Kafka 4.1, generated from one declaration per message.
//! - [`records`]: RecordBatch v2 and the legacy MessageSet v0/v1.
//! - [`annotate`]: a tree of spans that explains every byte of a frame.
//! - [`json`]: whole frames as JSON and back (the playground's builder).
//! - [`example`]: example frames for any API and version, every field populated.
//! - [`input`]: pasted text (hex in its common shapes, base64) to bytes.
//! - [`broker`]: the broker state machine, driven by `handle_*`/`poll_*` calls.
//! - [`storage`]: the storage trait and [`storage::MemStorage`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod annotate;
pub(crate) mod api;
pub mod broker;
pub mod example;
pub mod group;
pub mod input;
pub mod json;
pub mod protocol;
pub mod records;
pub mod storage;
