//! `spate connect standalone`: Kafka Connect's standalone worker.
//!
//! It reads Kafka Connect's own property files (a worker file, then one
//! file per connector), runs each connector's tasks on threads of their
//! own against any Kafka-compatible broker, and serves the standalone
//! worker's REST API.
//!
//! - [`config`]: the worker's and connectors' property files.
//! - [`convert`]: String, ByteArray and JSON converters.
//! - [`data`]: Connect's schemas and values.
//! - [`file`](mod@file): FileStreamSource and FileStreamSink.
//! - [`offsets`]: the source offset file, in Kafka's format.
//! - [`plugins`]: the connector classes, by Kafka's names and aliases.
//! - [`task`]: the source and sink task traits every connector implements,
//!   and [`task::Plugin`], how the worker knows a connector class.
//! - [`redis`]: the Redis sink and source connectors
//!   ([`redis::plugin`] names their classes).
//! - [`worker`]: the `spate connect` command: files read, task threads
//!   started, restarts, and the stop on SIGTERM.
//! - [`source`] and [`sink`]: a source and a sink task's thread (convert,
//!   produce or put, offsets, errors and the dead-letter topic).
//! - [`status`]: what the REST API reports and the flags it raises.
//! - [`rest`]: the REST API.
//!
//! The client side (connections, the idempotent producer, the group
//! member) is the CLI's blocking client, [`crate::client`].

pub(crate) mod config;
pub(crate) mod convert;
pub(crate) mod data;
pub(crate) mod file;
pub(crate) mod offsets;
pub(crate) mod plugins;
pub(crate) mod redis;
pub(crate) mod rest;
pub(crate) mod sink;
pub(crate) mod source;
pub(crate) mod status;
pub(crate) mod task;
pub(crate) mod worker;
