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
//! - [`storage`]: the storage traits and [`storage::MemStorage`].
//! - [`security`]: listeners, principals, SASL mechanisms and ACLs.
//! - [`broker`]: the broker state machine, driven by `handle_*`/`poll_*` calls.
//! - [`collections`]: the sorted [`collections::Map`] and [`collections::Set`]
//!   the crate keeps its state in (B-trees, or sorted `Vec`s with `compact-maps`).
//! - [`coordinator::controller`]: the ZooKeeper-mode cluster controller, a
//!   sans-I/O machine the native driver feeds and carries out.
//!
//! # Features
//!
//! - `jwks` (default): OAUTHBEARER tokens signed with RS256/384/512 or ES256.
//! - `cluster` (default): a broker in a ZooKeeper-coordinated cluster
//!   ([`broker::Config::zk`]). The WebAssembly build leaves both out.
//! - `compact-maps`: [`collections::Map`] and [`collections::Set`] are
//!   sorted `Vec`s instead of B-trees: O(n) inserts, a quarter less code. The
//!   playground's WebAssembly (`scripts/build-web`) turns it on.
//!
//! # Layers
//!
//! Inside, modules depend on each other in one direction, bottom to top (a
//! test, `tests/layers.rs`, fails when one imports upward):
//!
//! ```text
//! broker        connections, ordering, parking by partition, timers; calls api::dispatch
//! api           one module per API: decode, apply to the parts it needs, encode
//! coordinator   the group and transaction coordinators: sans-I/O machines returning
//!               decisions (groups) and plans (transactions) for the caller to write
//! state         metadata image and controller, cluster membership, typed topic
//!               configs, producers and their transactions (LSO, aborted index,
//!               markers), fetch sessions, telemetry, the internal-log writer,
//!               retention, cleaner
//! storage       Storage (+ the Compaction extension), MemStorage
//!   | security  principals, listeners, SASL mechanisms, the ACL authorizer
//! json          frames as JSON
//! annotate      spans over every byte   |   example   example frames
//! records       record batches
//! protocol      wire, schemas, messages |   input     pasted text
//!   | collections   the sorted Map and Set the layers above keep state in
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Without the `cluster` feature `Config::zk` is false, so the code only a
// ZooKeeper-mode broker reaches (leadership changes, the controller's
// APIs) is dead; the default build still reports real dead code.
#![cfg_attr(not(feature = "cluster"), allow(dead_code))]

pub mod annotate;
pub(crate) mod api;
pub mod broker;
pub mod collections;
pub mod coordinator;
pub mod example;
pub mod input;
pub mod json;
pub mod protocol;
pub mod records;
pub mod security;
pub(crate) mod state;
pub mod storage;
