//! `spate connect standalone`: Kafka Connect's standalone worker.
//!
//! It reads Kafka Connect's own property files (a worker file, then one
//! file per connector), runs each connector's tasks on threads of their
//! own against any Kafka-compatible broker, and serves the standalone
//! worker's REST API.
//!
//! - [`data`]: Connect's schemas and values.
//! - [`task`]: the source and sink task traits every connector implements,
//!   and [`task::Plugin`], how the worker knows a connector class.
//! - [`redis`]: the Redis sink and source connectors
//!   ([`redis::plugin`] names their classes).

#![allow(dead_code)] // the shape lands before the worker and connectors

pub(crate) mod data;
pub(crate) mod redis;
pub(crate) mod task;
