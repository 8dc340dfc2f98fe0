//! A small blocking Kafka client for the `topic`, `produce`, `consume`,
//! `group`, `transactions`, `cluster` and `top` subcommands. It speaks to any
//! Kafka-compatible broker.
//!
//! [`Client::connect`] opens the first reachable bootstrap broker
//! ([`conn::Connection`], which negotiates API versions); Metadata then
//! says which broker leads each partition, and [`Client::leader`] opens (and
//! keeps) a connection to it when it is not the bootstrap broker. Groups
//! are reached through their coordinator ([`coordinator`]); a consumer
//! joins one as a [`member::GroupMember`], which assigns partitions with
//! the range assignor of [`assignor`] when it leads; [`offsets`] reads
//! committed offsets and partition ends; [`producer`] is an idempotent
//! producer (the `connect` worker's); [`txn`] holds the transaction
//! admin requests (ListTransactions, DescribeTransactions,
//! DescribeProducers, WriteTxnMarkers); [`security`] reads the client
//! properties (`--command-config`, `-X`) and does TLS and SASL for every
//! connection the client opens, to bootstrap brokers and to the brokers
//! Metadata and FindCoordinator name.

pub(crate) mod assignor;
pub(crate) mod conn;
pub(crate) mod coordinator;
pub(crate) mod member;
pub(crate) mod offsets;
pub(crate) mod producer;
pub(crate) mod records;
pub(crate) mod security;
pub(crate) mod txn;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use bytestring::ByteString;
use clap::Args;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::metadata_response::{MetadataResponse, MetadataResponseTopic};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

pub(crate) use conn::Connection;
use security::ClientSecurity;

/// Where the brokers are and how to reach them: shared by every client
/// subcommand.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnArgs {
    /// Bootstrap brokers, `host:port` separated by commas; the first that
    /// answers is used.
    #[arg(
        short = 'b',
        long = "brokers",
        visible_alias = "bootstrap-server",
        value_name = "HOST:PORT,...",
        default_value = "127.0.0.1:9092",
        global = true
    )]
    pub(crate) brokers: String,
    /// Client properties (`security.protocol`, `sasl.*`, `ssl.*`) from a
    /// Java properties file, as Kafka's tools take them.
    #[arg(long = "command-config", value_name = "FILE", global = true)]
    pub(crate) command_config: Option<PathBuf>,
    /// A client property, overriding the file's (repeatable, as kcat's).
    #[arg(
        short = 'X',
        value_name = "KEY=VALUE",
        value_parser = key_value,
        global = true
    )]
    pub(crate) props: Vec<(String, String)>,
}

impl ConnArgs {
    /// Plain connections to `brokers`, no properties.
    #[cfg(test)]
    pub(crate) fn plain(brokers: String) -> ConnArgs {
        ConnArgs {
            brokers,
            command_config: None,
            props: Vec::new(),
        }
    }
}

/// A bootstrap connection plus connections to partition leaders.
#[derive(Debug)]
pub(crate) struct Client {
    /// The bootstrap broker's connection.
    bootstrap: Connection,
    /// Broker addresses by node id, from the last Metadata answer.
    brokers: HashMap<i32, String>,
    /// Connections to other brokers, by node id.
    others: HashMap<i32, Connection>,
    /// TLS and SASL for every connection.
    security: ClientSecurity,
}

impl Client {
    /// Connects to the first broker of the comma-separated list that answers.
    pub(crate) fn connect(args: &ConnArgs) -> anyhow::Result<Client> {
        let security = ClientSecurity::from_options(args.command_config.as_deref(), &args.props)?;
        let mut errors = Vec::new();
        for addr in args
            .brokers
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match Connection::open(addr, &security) {
                Ok(bootstrap) => {
                    return Ok(Client {
                        bootstrap,
                        brokers: HashMap::new(),
                        others: HashMap::new(),
                        security,
                    })
                }
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        if errors.is_empty() {
            bail!("no broker address given (-b HOST:PORT)");
        }
        bail!("no broker reachable: {}", errors.join("; "))
    }

    /// A new connection to `addr`, secured as the bootstrap one is.
    pub(crate) fn open(&self, addr: &str) -> anyhow::Result<Connection> {
        Connection::open(addr, &self.security)
    }

    /// The bootstrap connection.
    pub(crate) fn bootstrap(&mut self) -> &mut Connection {
        &mut self.bootstrap
    }

    /// Sends a request to the bootstrap broker.
    pub(crate) fn send(&mut self, body: RequestBody) -> anyhow::Result<ResponseBody> {
        self.bootstrap.send(body)
    }

    /// Metadata for `topics` (every topic when `None`); remembers the
    /// brokers' addresses. Topics are never created by asking.
    pub(crate) fn metadata(&mut self, topics: Option<&[&str]>) -> anyhow::Result<MetadataResponse> {
        let req = MetadataRequest {
            topics: topics.map(|ts| {
                ts.iter()
                    .map(|t| MetadataRequestTopic {
                        name: Some(ByteString::from(*t)),
                        ..Default::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        let ResponseBody::Metadata(resp) = self.send(RequestBody::Metadata(req))? else {
            bail!("Metadata answered with another API");
        };
        for b in &resp.brokers {
            self.brokers
                .insert(b.node_id, format!("{}:{}", b.host, b.port));
        }
        Ok(resp)
    }

    /// The connection to the controller, where Kafka's admin client sends
    /// CreateTopics, DeleteTopics and CreatePartitions (a broker of a
    /// ZooKeeper cluster that is not the controller answers them
    /// NOT_CONTROLLER): the broker the bootstrap's Metadata names, or the
    /// bootstrap broker when it names none.
    pub(crate) fn controller(&mut self) -> anyhow::Result<&mut Connection> {
        let meta = self.metadata(Some(&[]))?;
        if meta.controller_id < 0 || !self.brokers.contains_key(&meta.controller_id) {
            return Ok(&mut self.bootstrap);
        }
        self.leader(meta.controller_id)
    }

    /// Metadata for one topic that must exist.
    pub(crate) fn topic(&mut self, name: &str) -> anyhow::Result<MetadataResponseTopic> {
        let resp = self.metadata(Some(&[name]))?;
        let topic = resp
            .topics
            .into_iter()
            .find(|t| t.name.as_deref() == Some(name))
            .ok_or_else(|| anyhow!("topic `{name}` not found"))?;
        match ErrorCode(topic.error_code) {
            ErrorCode::NONE => Ok(topic),
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => bail!("topic `{name}` does not exist"),
            e => bail!("topic `{name}`: {e}"),
        }
    }

    /// The connection to broker `node_id` at `addr` (a coordinator, which
    /// FindCoordinator names with its address), kept as [`Client::leader`]
    /// keeps it.
    pub(crate) fn broker(&mut self, node_id: i32, addr: &str) -> anyhow::Result<&mut Connection> {
        self.brokers.insert(node_id, addr.to_string());
        self.leader(node_id)
    }

    /// The connection to broker `node_id` (from the last Metadata answer):
    /// the bootstrap connection when the address is the same, otherwise a
    /// new (then kept) one.
    pub(crate) fn leader(&mut self, node_id: i32) -> anyhow::Result<&mut Connection> {
        let addr = self
            .brokers
            .get(&node_id)
            .cloned()
            .ok_or_else(|| anyhow!("no address known for broker {node_id} (no leader?)"))?;
        if addr == self.bootstrap.addr() {
            return Ok(&mut self.bootstrap);
        }
        match self.others.entry(node_id) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => Ok(e.insert(Connection::open(&addr, &self.security)?)),
        }
    }
}

/// The error of a Kafka error code with its message, if the code is not 0.
pub(crate) fn check(what: &str, code: i16, message: Option<&ByteString>) -> anyhow::Result<()> {
    if code == 0 {
        return Ok(());
    }
    match message.map(|m| m.trim()).filter(|m| !m.is_empty()) {
        Some(m) => bail!("{what}: {}: {m}", ErrorCode(code)),
        None => bail!("{what}: {}", ErrorCode(code)),
    }
}

/// Parses `k=v`.
pub(crate) fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}
